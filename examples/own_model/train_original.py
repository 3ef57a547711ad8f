"""The team's own training script, run before any audit: it trains the production model outside
unlearn-audit, on the team's own split, and keeps what an audit will need.

    python examples/own_model/train_original.py [--out runs/own_model] [--erase 300]

It writes into ``--out``:

* ``original.pt``: the trained model (a ``state_dict``), ``model.checkpoint`` in audit.yaml;
* ``train_ids.txt``, ``population_ids.txt``, ``test_ids.txt``: the customer IDs the model was
  trained on and the ones it never saw, one per line, ``data.split`` in audit.yaml. The team's
  rule: a customer's bucket is the sha256 of the ID modulo 10: 0-6 train, 7 population, 8-9 test;
* ``erase_request.csv``: an erasure request naming ``--erase`` customers by ID (a random draw of
  training customers, with the date each request came in), ``forget.path`` in audit.yaml.

The model is trained with ``acme_records.train.fit`` and ``RECIPE``, the same function and
arguments audit.yaml names in ``training``: only then do the audit's references differ from the
original by the erased records alone.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from acme_records.data import load  # noqa: E402
from acme_records.model import make_model  # noqa: E402
from acme_records.train import RECIPE, fit  # noqa: E402

TEAM_SEED = 11


def bucket(customer_id: str) -> int:
    return int(hashlib.sha256(customer_id.encode()).hexdigest(), 16) % 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE.parents[1] / "runs" / "own_model")
    parser.add_argument("--erase", type=int, default=300, help="customers in the erasure request")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    table = load()
    x, y, ids = torch.as_tensor(table["x"]), torch.as_tensor(table["y"]), table["ids"]
    buckets = np.array([bucket(i) for i in ids])
    parts = {"train": buckets <= 6, "population": buckets == 7, "test": buckets >= 8}
    for name, mask in parts.items():
        listed = sorted(ids[i] for i in np.flatnonzero(mask))
        (args.out / f"{name}_ids.txt").write_text("".join(f"{i}\n" for i in listed), encoding="utf-8")

    train = torch.as_tensor(np.flatnonzero(parts["train"]))
    torch.manual_seed(TEAM_SEED)
    model = make_model(in_channels=1, num_classes=int(y.max()) + 1, input_shape=tuple(x.shape[1:]))
    generator = torch.Generator().manual_seed(TEAM_SEED)
    fit(model, x[train], y[train], seed=TEAM_SEED, generator=generator, device=torch.device("cpu"), **RECIPE)
    torch.save(model.state_dict(), args.out / "original.pt")

    with torch.no_grad():
        for name, mask in parts.items():
            rows = torch.as_tensor(np.flatnonzero(mask))
            accuracy = float((model(x[rows]).argmax(1) == y[rows]).float().mean())
            print(f"{name}: {len(rows)} customers, accuracy {accuracy:.3f}")

    rng = np.random.default_rng(TEAM_SEED)
    erased = rng.choice(np.flatnonzero(parts["train"]), size=args.erase, replace=False)
    lines = ["customer_id,received"] + [f"{ids[i]},2026-03-{1 + k % 28:02d}" for k, i in enumerate(erased)]
    (args.out / "erase_request.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(
        f"wrote original.pt, the split's ID lists and erase_request.csv ({args.erase} customers) to {args.out}"
    )


if __name__ == "__main__":
    main()
