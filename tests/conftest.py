"""Test-wide settings: a display-free Matplotlib backend and one torch thread.

The library never chooses a Matplotlib backend; the tests do, here, before
anything imports pyplot.
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import torch  # noqa: E402

# Tiny layers run thousands of times: two threads on two busy cores are much slower.
torch.set_num_threads(1)
