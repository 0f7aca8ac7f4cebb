# SPDX-License-Identifier: Apache-2.0
"""QoS profiles named in node parameters: ``'<kind>'`` or ``'<kind>:<depth>'``.

Kinds:

- ``sensor_data``: best effort, keep last 5, volatile (``rclpy.qos.qos_profile_sensor_data``,
  what robot drivers publish sensors with). A best-effort SUBSCRIPTION receives from best-effort
  and reliable publishers alike, so it is the default of the nodes' sensor inputs;
- ``best_effort``: best effort, keep last 10, volatile;
- ``reliable``: reliable, keep last 10, volatile (rclpy's default). A reliable subscription
  does not connect to a best-effort publisher ("incompatible QoS"); commands go out reliable.

``'reliable:1'`` sets the depth (keep last 1).
"""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

KINDS: dict[str, tuple[ReliabilityPolicy, int]] = {
    'sensor_data': (ReliabilityPolicy.BEST_EFFORT, 5),
    'best_effort': (ReliabilityPolicy.BEST_EFFORT, 10),
    'reliable': (ReliabilityPolicy.RELIABLE, 10),
}
"""QoS kind -> (reliability, default depth)."""


def qos_profile(text: str, parameter: str = 'qos') -> QoSProfile:
    """Return the QoS profile named by ``text`` (``kind`` or ``kind:depth``).

    Args:
        text: e.g. ``'sensor_data'``, ``'reliable'``, ``'best_effort:1'``.
        parameter: name of the parameter that held ``text`` (for the error message).

    Raises:
        ValueError: unknown kind or a depth that is not a positive integer (the message names
            the parameter, the value and the valid kinds).
    """
    kind, _, depth_text = str(text).strip().partition(':')
    if kind not in KINDS:
        raise ValueError(f"parameter {parameter} is '{text}'; valid: {', '.join(KINDS)} "
                         "(optionally ':<depth>', e.g. 'reliable:1')")
    reliability, depth = KINDS[kind]
    if depth_text:
        if not depth_text.isdigit() or int(depth_text) < 1:
            raise ValueError(f"parameter {parameter} is '{text}': the depth after ':' must be "
                             'a positive integer')
        depth = int(depth_text)
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=reliability,
                      durability=DurabilityPolicy.VOLATILE)
