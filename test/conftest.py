# SPDX-License-Identifier: Apache-2.0
"""Keep DDS discovery on loopback and on a private domain for every test process."""

import os

import pytest

os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('ROS_DOMAIN_ID', '42')


@pytest.fixture(scope='module')
def context(request):
    """Yield an rclpy context on the test module's private ``DOMAIN_ID``."""
    import rclpy  # only the ROS tests need it
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=request.module.DOMAIN_ID)
    yield context
    rclpy.shutdown(context=context)
