# SPDX-License-Identifier: Apache-2.0
"""Bundle evaluation for any registered task: transfer over dynamics, realities, motions."""
