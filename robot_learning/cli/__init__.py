# SPDX-License-Identifier: Apache-2.0
"""The ``robot-learning`` command line."""
