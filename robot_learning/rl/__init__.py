# SPDX-License-Identifier: Apache-2.0
"""rsl-rl-lib glue: the VecEnv adapter, the training config and the runner."""
