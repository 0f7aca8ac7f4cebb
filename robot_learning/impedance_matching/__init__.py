# SPDX-License-Identifier: Apache-2.0
"""Impedance matching: chirp excitation, frequency responses and actuator parameter fitting."""
