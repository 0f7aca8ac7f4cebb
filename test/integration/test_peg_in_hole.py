# SPDX-License-Identifier: Apache-2.0
"""The impedance controller and the peg-in-hole task in real MuJoCo."""

import mujoco
import numpy as np
import pytest

from robot_learning.ergodic_search.demonstrations import yaw_quaternions
from robot_learning.ergodic_search.force_model import ForceModel
from robot_learning.ergodic_search.impedance import ImpedanceConfig
from robot_learning.ergodic_search.peg_in_hole import PegInHoleConfig, PegInHoleSim
from robot_learning.ergodic_search.plan import SearchPlan

PRESS = ForceModel(weights=np.array([1.0]), means=np.array([[0.0, 0.0, 0.0, 0.0, -9.0]]),
                   covariances=0.01 * np.eye(5)[None])
"""A force model that always presses down with 9 N (2-D search velocity in)."""
PRESS_3D = ForceModel(weights=np.array([1.0]),
                      means=np.array([[0.0, 0.0, 0.0, 0.0, 0.0, -9.0]]),
                      covariances=0.01 * np.eye(6)[None])


def _still_plan(position, duration: float = 1.0) -> SearchPlan:
    """Return a plan that stays at ``position`` (hole frame) for ``duration``."""
    count = int(duration / 0.01) + 1
    return SearchPlan(method='still', dt=0.01, positions=np.tile(position, (count, 1)),
                      metric_times=np.zeros(1), metric=np.zeros(1))


@pytest.mark.parametrize('robot', ['arm', 'kuka_iiwa'])
def test_impedance_deflection_is_force_over_stiffness(robot):
    stiffness = ImpedanceConfig(translational_stiffness=(800.0, 500.0, 1000.0))
    sim = PegInHoleSim(PegInHoleConfig(robot=robot), stiffness)
    sim.reset(np.array([0.05, 0.0]))  # hole out of the way: the peg hangs in the air
    model, data = sim.model, sim.data
    set_point = data.site_xpos[sim.site] + [0.0, 0.0, 0.03]
    down = yaw_quaternions(np.zeros(1))[0]
    external = np.array([8.0, -5.0, 10.0])
    # 8 N / 800 N/m = 10 mm, -5 N / 500 N/m = -10 mm, 10 N / 1000 N/m = 10 mm.
    expected = set_point + [0.010, -0.010, 0.010]
    body = model.site_bodyid[sim.site]
    for _ in range(1500):  # 3 s at 2 ms
        data.qfrc_applied[:] = 0.0
        mujoco.mj_applyFT(model, data, external, np.zeros(3), data.site_xpos[sim.site], body,
                          data.qfrc_applied)
        sim.step(set_point, down, np.zeros(6), np.zeros(6))
    np.testing.assert_allclose(data.site_xpos[sim.site], expected, atol=1e-4)
    assert np.linalg.norm(data.qvel) < 1e-3


def test_a_peg_over_the_hole_goes_in_and_one_beside_it_does_not():
    sim = PegInHoleSim(PegInHoleConfig())
    inserted = sim.run_trial(_still_plan([0.0, 0.0]), np.array([0.001, -0.001]), PRESS)
    assert inserted.success and inserted.time < 0.5
    assert inserted.depth >= 0.008
    # 3 mm off in x is beyond clearance (0.25 mm) + chamfer (1.5 mm): the peg rests on top.
    blocked = sim.run_trial(_still_plan([0.0, 0.0]), np.array([0.003, 0.0]), PRESS)
    assert not blocked.success and blocked.time == 1.0
    assert blocked.depth < 0.001


def test_the_socket_needs_the_right_yaw():
    sim = PegInHoleSim(PegInHoleConfig(variant='socket'))
    aligned = sim.run_trial(_still_plan([0.0, 0.0, 0.1]), np.array([0.0, 0.0, 0.1]), PRESS_3D)
    assert aligned.success
    # 0.5 rad off: the 24 mm blade lies across the 8.5 mm slot.
    crossed = sim.run_trial(_still_plan([0.0, 0.0, 0.0]), np.array([0.0, 0.0, 0.5]), PRESS_3D)
    assert not crossed.success and crossed.depth < 0.001


def test_the_yaw_lead_turns_a_blade_on_the_chamfer_into_the_slot():
    # 0.07 rad off, centred: the blade spans 4 cos 0.07 + 12 sin 0.07 = 4.83 mm across, so it
    # sinks 5.75 - 4.83 = 0.92 mm into the chamfer (> detect_depth) and rests there.
    plan = _still_plan([0.0, 0.0, 0.0], duration=2.0)
    offset = np.array([0.0, 0.0, 0.07])
    led = PegInHoleSim(PegInHoleConfig(variant='socket')).run_trial(plan, offset, PRESS_3D)
    assert led.success and led.time < 1.5
    # Without the lead the chamfer alone turns the blade too slowly (friction, damping).
    unled = PegInHoleSim(PegInHoleConfig(variant='socket', yaw_lead=0.0)).run_trial(
        plan, offset, PRESS_3D)
    assert not unled.success and 0.0005 < unled.depth < 0.0015
