"""UNSIR on digits: error-maximising noise, and two classes forgotten at once without reading them.

One class forgotten zero-glance (retain data only) is checked by its case in
``tests/unlearners/cases.py``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from auditor.config import DataConfig, ForgetConfig
from auditor.data.splits import make_splits
from auditor.plugin.context import UnlearnInputs, take
from auditor.train.core import predict_logits
from tests.helpers import RECIPE, digits_setup, inputs, models, trained
from unlearners import UNLEARNERS

Unsir = UNLEARNERS.get("unsir")


def test_noise_maximises_the_error_on_its_own_class():
    original, _ = models()
    noise = Unsir()._noise(original, 3, inputs())
    start = torch.randn(noise.shape, generator=torch.Generator().manual_seed(0))
    target = torch.full((len(noise),), 3)
    learned = F.cross_entropy(predict_logits(original, noise), target)
    random = F.cross_entropy(predict_logits(original, start), target)
    assert learned > random + 1.0


def test_forgets_two_classes_at_once():
    data = digits_setup()[0]
    forget = ForgetConfig(kind="class", classes=[3, 7])
    splits, problems = make_splits(data, DataConfig(), forget, 0)
    assert not problems
    factory = digits_setup()[2]
    original = trained("train", 1)
    ins = UnlearnInputs(
        data=data,
        splits=splits,
        forget_kind="class",
        forget_classes=(3, 7),
        recipe=RECIPE,
        model_factory=factory,
        device=torch.device("cpu"),
        seed=5,
    )
    out = Unsir().run(original, ins)
    test = take(data, splits.test)
    pred = predict_logits(out, test.x).argmax(1)
    gone = np.isin(test.y.numpy(), [3, 7])
    assert float((pred[gone] == test.y[gone]).float().mean()) < 0.05
    before = float((predict_logits(original, test.x).argmax(1)[~gone] == test.y[~gone]).float().mean())
    assert float((pred[~gone] == test.y[~gone]).float().mean()) >= before - 0.06
    assert "forget" not in ins.reads
    # The step counts it records: one impair epoch over both classes' noise and the retain subset.
    p, notes = Unsir.Params(), ins.notes
    assert notes["noise_samples"] == 2 * p.noise_batch * p.noise_copies
    assert notes["retain_samples"] == len(splits.retain)  # digits classes are smaller than retain_per_class
    assert notes["impair_steps"] == -(-(notes["noise_samples"] + notes["retain_samples"]) // p.batch_size)
    assert notes["repair_steps"] == p.repair_epochs * -(-notes["retain_samples"] // p.batch_size)
