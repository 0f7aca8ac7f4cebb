# SPDX-License-Identifier: Apache-2.0
"""Keep DDS on loopback and on a private domain for every test process (and its children)."""

import os
import pathlib

import pytest

LOOPBACK_PROFILE = pathlib.Path(__file__).resolve().parents[1] / 'config' / 'dds' / \
    'fastdds_loopback.xml'
"""Fast DDS transports on 127.0.0.1 and shared memory only (discovery range limits discovery
but not the interfaces the sockets bind)."""

os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('ROS_DOMAIN_ID', '42')
os.environ.setdefault('FASTDDS_DEFAULT_PROFILES_FILE', str(LOOPBACK_PROFILE))


@pytest.fixture(scope='module')
def context(request):
    """Yield an rclpy context on the test module's private ``DOMAIN_ID``."""
    import rclpy  # only the ROS tests need it
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=request.module.DOMAIN_ID)
    yield context
    rclpy.shutdown(context=context)
