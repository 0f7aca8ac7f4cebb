# SPDX-License-Identifier: Apache-2.0
"""Isaac Lab adapter: dynamics parameters as event terms, and the project's runner on its envs."""

from robot_learning.isaaclab.events import (event_terms, EventTermSpec, IsaacLabMappingError,
                                            UNSUPPORTED)

__all__ = ['event_terms', 'EventTermSpec', 'IsaacLabMappingError', 'UNSUPPORTED']
