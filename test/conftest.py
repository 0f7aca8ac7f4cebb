# SPDX-License-Identifier: Apache-2.0
"""Keep DDS discovery on loopback and on a private domain for every test process."""

import os

os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('ROS_DOMAIN_ID', '42')
