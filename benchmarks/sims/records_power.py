"""The per-record gate (``records.exposed``) on real models: its false-FAIL rate and its power against records left in training.

For each root seed of a config: the original, the 12 references, ``--null`` more honest retrains
(other seeds) and retrains that kept part of the request (random shares, and the least exposed: the
records the original classifies with the largest margin), all through the audit's one trainer and
model cache. Each is judged by the engine's own code (``attacks.membership.records`` flags, the
paired proportion comparison conditioned on the forget set, ``judge`` with the default tolerance 0,
Bonferroni over ``--family`` gates), so the rates are those of the audit. Usage::

    python benchmarks/sims/records_power.py examples/mnist1d.yaml --seeds 0 200 201 202 203 204

Prints, per model kind, how often the gate FAILs. docs/statistics.md section 13 quotes it.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from attacks.membership.records import flagged_by_role  # noqa: E402
from attacks.signals import logit_confidence  # noqa: E402
from auditor.config import load_config  # noqa: E402
from auditor.judge.stats import compare_proportions, forget_set_comparison  # noqa: E402
from auditor.judge.verdict import FAIL, Gate, judge  # noqa: E402
from auditor.run.controls import partial_erasures, robustness_order  # noqa: E402
from auditor.run.preflight import preflight  # noqa: E402
from auditor.seeding import derive_seed  # noqa: E402
from auditor.train.cache import ModelCache, default_cache_dir  # noqa: E402
from auditor.train.core import Recipe, predict_logits  # noqa: E402
from auditor.train.trainer import Trainer, TrainRequest  # noqa: E402

SHARES = {"random": [0.25, 0.125, 0.1, 0.05], "least_exposed": [0.5, 0.25]}


def models_for(config: str, seed: int, null: int):
    """(forget phi per model kind, n) for one root seed; every model from the cache when present."""
    cfg = load_config(config, overrides={"seed": seed, "unlearner": {"name": "noop", "params": {}}})
    prep = preflight(cfg, out=Path("/tmp/records-power"), sign=False)
    data, splits = prep.data, prep.splits
    trainer = Trainer(
        data=data,
        arch=cfg.model.arch,
        recipe=Recipe.from_fields(**cfg.training.model_dump()),
        factory=prep.factory,
        cache=ModelCache(default_cache_dir()),
        device=torch.device("cpu"),
    )
    original = trainer.train(splits.train, derive_seed(seed, "original"), label="original").model
    refs = trainer.train_many(
        [
            TrainRequest(splits.retain, derive_seed(seed, f"reference/{i}"))
            for i in range(cfg.reference.seeds)
        ],
        label="reference",
    )
    extra = trainer.train_many(
        [TrainRequest(splits.retain, derive_seed(seed, f"sim/null/{i}")) for i in range(null)],
        label="null",
        role="sim",
    )
    idx = torch.as_tensor(splits.forget, dtype=torch.long)
    x, y = data.x[idx], data.y[idx]
    order = robustness_order(original, x, y, torch.device("cpu"))
    partials = partial_erasures(splits.forget, order=order, seed=derive_seed(seed, "sim"), **SHARES)
    kept = trainer.train_many(
        [
            TrainRequest(np.union1d(splits.retain, p.kept), derive_seed(seed, f"sim/{p.name}"))
            for p in partials
        ],
        label="partial",
        role="sim",
    )

    def phi(m):
        return logit_confidence(predict_logits(m, x), y)

    out = {"reference": [phi(t.model) for t in refs], "original": [phi(original)]}
    out["null"] = [phi(t.model) for t in extra]
    for p, t in zip(partials, kept):
        out[p.name] = [phi(t.model)]
    return out, len(splits.forget)


def gate_status(
    phi: dict[str, list[np.ndarray]], model: np.ndarray, *, fpr: float, family: int, seed: int
) -> str:
    flags = flagged_by_role({"reference": phi["reference"], "unlearned": [model]}, fpr)
    comp = forget_set_comparison(
        compare_proportions(flags, reps=1000, level=0.95, rng=np.random.default_rng(seed))
    )
    return judge(
        Gate("records.exposed", 0.0, "default", "privacy", True), comp.evidence, alpha=0.05, family=family
    ).status


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--null", type=int, default=4, help="honest retrains per seed besides the references")
    ap.add_argument("--fpr", type=float, default=0.05)
    ap.add_argument(
        "--family", type=int, default=12, help="gates in the Bonferroni family (the default battery's)"
    )
    a = ap.parse_args()
    fails: dict[str, list[bool]] = defaultdict(list)
    for seed in a.seeds:
        phi, n = models_for(a.config, seed, a.null)
        row = []
        for kind, models in phi.items():
            if kind == "reference":
                continue
            for m in models:
                failed = gate_status(phi, m, fpr=a.fpr, family=a.family, seed=seed) == FAIL
                fails[kind].append(failed)
            row.append(f"{kind}={sum(fails[kind][-len(models) :])}/{len(models)}")
        print(f"seed {seed} (n={n}): FAIL " + ", ".join(row), flush=True)
    print(f"\nFAIL rate of records.exposed (fpr {a.fpr:.2g}, family {a.family}):")
    for kind, f in fails.items():
        print(f"  {kind:28s} {sum(f):3d} / {len(f):3d}")


if __name__ == "__main__":
    main()
