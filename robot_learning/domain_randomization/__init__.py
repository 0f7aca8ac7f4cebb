# SPDX-License-Identifier: Apache-2.0
"""Domain randomization over the named dynamics parameters: no-DR, uniform, ADR and DORAEMON."""
