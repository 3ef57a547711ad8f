"""The samples of one split as tensors: :class:`SplitData` and :func:`take`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from auditor.data.datasets import LoadedData


@dataclass(frozen=True)
class SplitData:
    """The tensors of one split, with the dataset indices they came from."""

    x: torch.Tensor
    y: torch.Tensor
    indices: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])


def take(data: LoadedData, indices: np.ndarray) -> SplitData:
    """The samples at ``indices`` as a :class:`SplitData`."""
    idx = torch.as_tensor(indices, dtype=torch.long)
    return SplitData(x=data.x[idx], y=data.y[idx], indices=np.asarray(indices))
