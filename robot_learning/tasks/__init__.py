# SPDX-License-Identifier: Apache-2.0
"""MDPs: pure observation, reward and termination terms, and the tasks built from them."""
