# SPDX-License-Identifier: Apache-2.0
"""ASAP delta-action alignment: delta-action model, fine-tuning, SysID and delta dynamics."""
