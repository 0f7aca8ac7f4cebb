# SPDX-License-Identifier: Apache-2.0
"""Reference motions: motion files, the motion library, body kinematics and recorded clips."""
