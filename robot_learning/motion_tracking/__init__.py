# SPDX-License-Identifier: Apache-2.0
"""Humanoid motion tracking: reference motions, kinematics, metrics and recorded clips."""
