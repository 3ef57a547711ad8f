"""Third-party-style plugins used by the tests (referenced as ``tests.plugins:Name``)."""

from __future__ import annotations

import torch
from torch import nn

from unlearners.base import Unlearner


def tiny_linear(*, in_channels: int, num_classes: int, input_shape: tuple[int, ...]) -> nn.Module:
    """A user's own architecture factory."""
    n = 1
    for d in input_shape:
        n *= d
    return nn.Sequential(nn.Flatten(), nn.Linear(n, num_classes))


class NaNUnlearner(Unlearner):
    """A broken method: returns weights full of NaN."""

    name = "nan"
    summary = "test double returning NaN weights"
    citation = "none"

    def unlearn(self, model, inputs):
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(float("nan"))
        return model


class HeadOnlyUnlearner(Unlearner):
    """A deceptive method: it lowers the forgotten classes' logits just enough and leaves every feature intact.

    Its forget accuracy matches retraining, but the representation still encodes the classes, so
    a probe on the features (or relearning) must expose it.
    """

    name = "head_only"
    summary = "test double: suppress the forget classes' logits only"
    citation = "none"
    supports = frozenset({"class"})

    def unlearn(self, model, inputs):
        head = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
        forget = inputs.forget()
        with torch.no_grad():
            logits = model.eval()(forget.x)
            for c in inputs.forget_classes:
                others = logits.clone()
                others[:, c] = -torch.inf
                margin = float((logits[:, c] - others.max(dim=1).values).max())
                head.bias[c] -= margin + 1.0  # just enough that class c never wins on the forget data
        return model


def fit_ignoring_seed(model, x, y, *, seed, generator, device, progress=None, epochs: int = 2):
    """A user's training function that shuffles with torch's global generator: not reproducible."""
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(epochs):
        for idx in torch.randperm(len(y)).split(32):  # no generator: ignores its seed
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model


def fit_seeded(model, x, y, *, seed, generator, device, progress=None, epochs: int = 2):
    """The same loop drawing its shuffles from the generator it is given."""
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(epochs):
        for idx in torch.randperm(len(y), generator=generator).split(32):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model


def float_labels():
    """A user's loader returning labels as floats (e.g. read from a CSV column)."""
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.normal(size=(200, 5)).astype("float32"), rng.integers(0, 3, 200).astype(float)


def small_table(n: int = 300):
    """A valid loader: 5 features, 3 classes."""
    import numpy as np

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    return rng.normal(size=(n, 5)).astype("float32") + y[:, None], y


def customer_table(*, integer_ids: bool = False, declare: str | None = None, repeat_id: bool = False):
    """A team's table: scikit-learn's digits as 64 features per customer, each row with a customer ID.

    ``declare``: ``masks`` (train_mask, test_mask, population_mask by row position mod 4), ``names``
    (the same as one split name per row), ``train_only`` (train_mask alone) or None (no split).
    """
    import numpy as np
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = ((bunch.data / 16.0 - 0.3) / 0.4).astype(np.float32)
    numbers = np.random.default_rng(7).permutation(90_000)[: len(x)] + 10_000
    ids = numbers.tolist() if integer_ids else [f"CUST-{v}" for v in numbers]
    if repeat_id:
        ids[5] = ids[4]
    out = {"x": x, "y": bunch.target.astype(np.int64), "ids": ids}
    part = np.arange(len(x)) % 4
    if declare == "masks":
        out.update(train_mask=part < 2, test_mask=part == 2, population_mask=part == 3)
    elif declare == "names":
        out["split"] = np.asarray(["train", "train", "test", "population"])[part]
    elif declare == "train_only":
        out["train_mask"] = part < 2
    return out
