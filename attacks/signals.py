"""Per-sample signals computed from a model's logits and the true labels.

Each function maps ``(logits (N, K), labels (N,))`` to a float64 NumPy array of length N. Softmax
is computed in float64 with the maximum subtracted.
"""

from __future__ import annotations

import numpy as np
import torch

_EPS = 1e-30


def probabilities(logits: torch.Tensor, *, temperature: float = 1.0) -> np.ndarray:
    """softmax(z / T) in float64, the row maximum subtracted first: the one softmax of the attacks.

    Args:
        logits: ``(N, K)`` logits z.
        temperature: Softmax temperature T (RMIA's signal takes one; 1 is the plain softmax).
    """
    z = logits.double() / temperature
    return torch.softmax(z - z.max(dim=1, keepdim=True).values, dim=1).numpy()


def true_class_prob(logits: torch.Tensor, labels: torch.Tensor, *, temperature: float = 1.0) -> np.ndarray:
    """p_y: the probability of the true class, of softmax(z / T)."""
    return probabilities(logits, temperature=temperature)[np.arange(len(labels)), labels.numpy()]


def loss(logits: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """Cross-entropy -log p_y (Yeom et al., CSF 2018)."""
    z = logits.double()
    return (torch.logsumexp(z, dim=1) - z[torch.arange(len(labels)), labels]).numpy()


def correct(logits: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """1 where the prediction is the true label, else 0."""
    return (logits.argmax(dim=1) == labels).numpy().astype(np.float64)


def entropy(logits: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """Prediction entropy -sum_j p_j log p_j (labels unused)."""
    p = probabilities(logits)
    return -(p * np.log(np.maximum(p, _EPS))).sum(axis=1)


def modified_entropy(logits: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """Song & Mittal's modified entropy (USENIX Security 2021, eq. 4).

    Mentr = -(1 - p_y) log p_y - sum_{j != y} p_j log(1 - p_j); low for confident correct
    predictions, high for confident wrong ones.
    """
    p = probabilities(logits)
    rows = np.arange(len(labels))
    y = labels.numpy()
    py = p[rows, y]
    terms = -p * np.log(np.maximum(1.0 - p, _EPS))
    terms[rows, y] = 0.0
    return -(1.0 - py) * np.log(np.maximum(py, _EPS)) + terms.sum(axis=1)


def logit_confidence(logits: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """phi(p_y) = log p_y - log(sum_{j != y} p_j), computed stably (Carlini et al. 2022)."""
    z = logits.double()
    rows = torch.arange(len(labels))
    zy = z[rows, labels]
    others = z.clone()
    others[rows, labels] = -torch.inf
    return (zy - torch.logsumexp(others, dim=1)).numpy()
