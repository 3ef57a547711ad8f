"""The team's customer table: one row per customer, 40 features, a class label and a customer ID.

The rows are MNIST-1D sequences (Greydanus & Kobak, ICML 2024), generated offline by the ``mnist1d``
package with its official arguments (5,000 rows), standing in for a feature table; the customer IDs
(``C`` and seven digits) are synthetic, drawn once from a fixed seed. An erasure request names
customers by these IDs.

MNIST-1D rather than a small real table such as scikit-learn's breast_cancer: an MLP fits its
training rows (about 100 %) but reaches only about 60 % on held-out rows, so a trained model holds
measurable information about each training record, and an erasure of a few hundred of them is
something an audit can check. On breast_cancer (569 rows) the models generalise so well that even
exact retraining could not be told from doing nothing, and the audit is INCONCLUSIVE.
"""

from __future__ import annotations

import random

import numpy as np

ID_SEED = 2024


def load() -> dict:
    """The table as unlearn-audit's loader contract wants it: features, labels and record IDs."""
    from mnist1d.data import get_dataset_args, make_dataset

    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        ds = make_dataset(get_dataset_args())  # the official MNIST-1D (seed 42); seeds numpy's global RNG
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    x = np.concatenate([ds["x"], ds["x_test"]]).astype(np.float32)
    y = np.concatenate([ds["y"], ds["y_test"]]).astype(np.int64)
    numbers = np.random.default_rng(ID_SEED).choice(10_000_000, size=len(y), replace=False)
    return {"x": x, "y": y, "ids": [f"C{n:07d}" for n in numbers]}
