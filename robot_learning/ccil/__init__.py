# SPDX-License-Identifier: Apache-2.0
"""CCIL: corrective labels from a locally Lipschitz dynamics model, and behaviour cloning."""
