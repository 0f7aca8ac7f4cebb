# SPDX-License-Identifier: Apache-2.0
"""DDS of the tests stays on loopback: every socket that DDS reads binds 127.0.0.1.

The sockets come from the kernel's table (/proc/net/udp), matched to this process's file
descriptors.
"""

from __future__ import annotations

import os
import pathlib
import socket
import time

import pytest
from std_msgs.msg import String

pytestmark = pytest.mark.ros

DOMAIN_ID = 91
"""Private ROS domain of this module."""
ROOT = pathlib.Path(__file__).resolve().parents[2]
PROFILE = ROOT / 'config' / 'dds' / 'fastdds_loopback.xml'
RTPS_PORTS = range(7400 + 250 * DOMAIN_ID, 7400 + 250 * (DOMAIN_ID + 1))
"""UDP ports of the domain (RTPS port mapping: PB 7400, DG 250): where DDS listens."""


def own_udp_sockets() -> list[dict]:
    """UDP/IPv4 sockets of this process: address, port and bytes waiting to be read."""
    inodes = set()
    for fd in os.listdir('/proc/self/fd'):
        try:
            target = os.readlink(f'/proc/self/fd/{fd}')
        except OSError:
            continue
        if target.startswith('socket:['):
            inodes.add(target[8:-1])
    sockets = []
    with open('/proc/net/udp', encoding='ascii') as table:
        next(table)
        for line in table:
            fields = line.split()
            if fields[9] not in inodes:
                continue
            address, port = fields[1].split(':')
            sockets.append({
                'address': socket.inet_ntoa(int(address, 16).to_bytes(4, 'little')),
                'port': int(port, 16), 'queued': int(fields[4].split(':')[1], 16)})
    return sockets


@pytest.fixture(scope='module')
def talking_node(context):
    """Start a node that publishes and subscribes on one topic (discovery and data both ran)."""
    import rclpy
    node = rclpy.create_node('loopback_probe', context=context)
    received = []
    node.create_subscription(String, 'loopback_probe', received.append, 10)
    publisher = node.create_publisher(String, 'loopback_probe', 10)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    deadline = time.monotonic() + 10.0
    while not received and time.monotonic() < deadline:
        publisher.publish(String(data='ping'))
        executor.spin_once(timeout_sec=0.05)
    yield node, executor, received
    executor.remove_node(node)
    node.destroy_node()


def test_the_tests_load_the_shipped_loopback_profile():
    assert os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] == str(PROFILE)
    text = PROFILE.read_text()
    assert '<interface name="127.0.0.1"' in text
    assert '<useBuiltinTransports>false</useBuiltinTransports>' in text


def test_every_dds_port_of_the_domain_binds_loopback_only(talking_node):
    _, _, received = talking_node
    assert received, 'no message came back through DDS with the loopback profile'
    domain = [s for s in own_udp_sockets() if s['port'] in RTPS_PORTS]
    assert domain, 'no socket on the domain ports: is DDS running in this process?'
    assert {s['address'] for s in domain} == {'127.0.0.1'}, domain


def test_no_socket_on_another_address_is_read(talking_node):
    # rmw_fastrtps's LOCALHOST mode adds a UDP transport of its own whose send-only sockets
    # bind every interface; a datagram sent to them must stay unread.
    _, executor, _ = talking_node
    others = [s for s in own_udp_sockets() if s['address'] != '127.0.0.1']
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for other in others:
            sender.sendto(b'not rtps', ('127.0.0.1' if other['address'] == '0.0.0.0'
                                        else other['address'], other['port']))
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        unread = {(s['address'], s['port']): s['queued'] for s in own_udp_sockets()}
    assert all(unread.get((s['address'], s['port']), 0) > 0 for s in others), (others, unread)
