"""Run one unlearning method against cached models and compare its accuracies with the references'.

A cheap bench for investigating a method (no attacks, no report): it trains (or takes from the model
cache) the config's original and its reference retrains, exactly the models ``unlearn-audit run`` would
use (same cache keys), runs the method with the given parameters, and prints forget, retain and test
accuracy (test on the retained classes for class forgetting, plus the forgotten classes' test accuracy)
beside the references' mean and standard deviation, with the method's wall time. Example::

    python benchmarks/method_probe.py examples/fashion_mnist.yaml --set 'forget={kind: class, classes: [7]}' \
        --method unsir --params '{impair_lr: 0.02}' --references 4

``--params`` may be given several times: each is one run (a sweep). ``--json`` appends the rows to a
JSON-lines file. ``--stages`` (UNSIR only) also prints the accuracies after the impair step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]


def _prepare(config: Path, sets: list[str], n_refs: int) -> tuple[Any, Any, Any, Any, list[Any]]:
    from auditor.config import load_config
    from auditor.run.models import make_engine, original_model, reference_models
    from auditor.run.preflight import preflight
    from auditor.run.progress import Progress

    overrides: dict[str, Any] = {"reference": {"seeds": n_refs}}
    for s in sets:
        key, _, value = s.partition("=")
        overrides[key] = yaml.safe_load(value)
    cfg = load_config(config, overrides=overrides)
    prep = preflight(cfg, out=Path(tempfile.mkdtemp()), sign=False)
    engine = make_engine(cfg, prep, Progress(enabled=False))
    original = original_model(cfg, prep, engine).model
    refs = [r.model for r in reference_models(cfg, prep, engine)]
    return cfg, prep, engine.trainer, original, refs


def measure(model: torch.nn.Module, cfg: Any, prep: Any) -> dict[str, float]:
    """Forget, retain and test accuracy (test split by retained / forgotten class for class forgetting)."""
    from auditor.data.tensors import take
    from auditor.train.steps import accuracy

    data, splits, dev = prep.data, prep.splits, prep.device
    out = {
        "forget": accuracy(model, take(data, splits.forget), device=dev),
        "retain": accuracy(model, take(data, splits.retain), device=dev),
    }
    test = take(data, splits.test)
    if cfg.forget.kind == "class":
        gone = torch.isin(test.y, torch.tensor(cfg.forget.classes))
        out["test_kept"] = accuracy(model, take(data, splits.test[~gone.numpy()]), device=dev)
        out["test_gone"] = accuracy(model, take(data, splits.test[gone.numpy()]), device=dev)
    else:
        out["test"] = accuracy(model, test, device=dev)
    return out


def run_method(
    method: str,
    params: dict[str, Any],
    cfg: Any,
    prep: Any,
    trainer: Any,
    original: Any,
    seed_tag: str = "unlearn",
) -> tuple[torch.nn.Module, float, dict[str, Any]]:
    from auditor.plugin.context import UnlearnInputs
    from auditor.seeding import derive_seed
    from unlearners import UNLEARNERS

    cls = UNLEARNERS.get(method)
    inst = cls(cls.Params.model_validate(params))
    inputs = UnlearnInputs(
        data=prep.data,
        splits=prep.splits,
        forget_kind=cfg.forget.kind,
        forget_classes=tuple(cfg.forget.classes or ()),
        recipe=trainer.recipe,
        model_factory=prep.factory,
        device=prep.device,
        seed=derive_seed(cfg.seed, seed_tag),
    )
    t = time.perf_counter()
    model = inst.run(original, inputs)
    return model, time.perf_counter() - t, dict(inputs.notes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("--set", action="append", default=[], dest="sets", help="KEY=YAML override")
    ap.add_argument("--method", required=True)
    ap.add_argument("--params", action="append", default=None, help="YAML mapping; repeat for a sweep")
    ap.add_argument("--references", type=int, default=4, help="reference retrains to compare with")
    ap.add_argument("--json", type=Path, help="append one JSON line per run")
    a = ap.parse_args()
    cfg, prep, trainer, original, refs = _prepare(a.config, a.sets, a.references)
    ref_rows = [measure(r, cfg, prep) for r in refs]
    orig = measure(original, cfg, prep)
    keys = list(orig)
    ref_mean = {k: statistics.mean(r[k] for r in ref_rows) for k in keys}
    ref_sd = {k: statistics.stdev(r[k] for r in ref_rows) if len(ref_rows) > 1 else 0.0 for k in keys}
    print(f"{'':<44}" + "".join(f"{k:>16}" for k in keys))
    print(f"{'original':<44}" + "".join(f"{orig[k]:>16.3f}" for k in keys))
    print(
        f"{f'references (n={len(refs)}) mean ± sd':<44}"
        + "".join(f"{f'{ref_mean[k]:.3f}±{ref_sd[k]:.3f}':>16}" for k in keys)
    )
    for text in a.params or ["{}"]:
        params = yaml.safe_load(text) or {}
        model, secs, notes = run_method(a.method, params, cfg, prep, trainer, original)
        got = measure(model, cfg, prep)
        label = f"{a.method} {json.dumps(params, separators=(',', ':'))}"[:44]
        print(
            f"{label:<44}"
            + "".join(f"{f'{got[k]:.3f} ({got[k] - ref_mean[k]:+.3f})':>16}" for k in keys)
            + f"  {secs:.2f}s",
            flush=True,
        )
        if a.json:
            with a.json.open("a") as fh:
                fh.write(
                    json.dumps(
                        {
                            "config": str(a.config),
                            "sets": a.sets,
                            "method": a.method,
                            "params": params,
                            "accuracy": got,
                            "reference_mean": ref_mean,
                            "reference_sd": ref_sd,
                            "original": orig,
                            "seconds": secs,
                            "notes": {k: v for k, v in notes.items() if k != "checks"},
                        }
                    )
                    + "\n"
                )


if __name__ == "__main__":
    main()
