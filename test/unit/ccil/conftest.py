# SPDX-License-Identifier: Apache-2.0
"""CCIL unit tests train small torch models: on one thread each."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Train on one thread (torch's default pool crawls on a loaded 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
