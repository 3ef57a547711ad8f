"""Seeds: one root seed in the config, a derived seed per purpose, recorded in the evidence."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch and NumPy are imported when a generator is made, not with this module
    import numpy
    import torch


def derive_seed(root: int, purpose: str) -> int:
    """A reproducible 63-bit seed for one component, e.g. ``derive_seed(0, "reference/1")``.

    Different purposes give independent-looking seeds; the same (root, purpose) always gives the
    same seed, on every machine.
    """
    digest = hashlib.sha256(f"{root}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


def torch_generator(root: int, purpose: str) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with :func:`derive_seed`."""
    import torch

    return torch.Generator().manual_seed(derive_seed(root, purpose))


def numpy_rng(root: int, purpose: str) -> numpy.random.Generator:
    """A NumPy ``Generator`` seeded with :func:`derive_seed`."""
    import numpy as np

    return np.random.default_rng(derive_seed(root, purpose))
