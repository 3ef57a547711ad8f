"""Batched (torch.func) vs sequential training of K shadow-like models on digits, side by side.

Each model trains on a random half of digits with the embedded default's recipe (or the MLP
recipe of the tests). The script prints both wall times and their ratio for each architecture
and K, measured in this one run (the machine is shared: compare ratios, not absolute seconds).

Usage: ``python benchmarks/bench_batched.py [--k 16 64] [--arch mlp small_cnn] [--epochs N]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from auditor.config import DataConfig
from auditor.data.datasets import load_digits
from auditor.train.architectures import init_model, model_factory
from auditor.train.batched import train_batched
from auditor.train.core import Recipe, train_model
from auditor.train.shadows import BATCH_CHUNK

RECIPES = {
    "mlp": Recipe(epochs=30, batch_size=64, optimizer="sgd", lr=0.05),  # examples/digits.yaml (the demo)
    "small_cnn": Recipe(epochs=30, batch_size=64, optimizer="sgd", lr=0.05),  # the demo's recipe on small_cnn
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, nargs="+", default=[16])
    parser.add_argument("--arch", nargs="+", default=["mlp", "small_cnn"])
    parser.add_argument(
        "--epochs", type=int, default=None, help="Override the recipe's epochs (quicker runs)."
    )
    args = parser.parse_args()
    torch.set_num_threads(2)
    data = load_digits(DataConfig())
    rng = np.random.default_rng(0)
    n = len(data) // 2 * 2
    print(f"{'arch':<10} {'K':>4} {'sequential s':>13} {'batched s':>10} {'speedup':>8}")
    for arch in args.arch:
        recipe = RECIPES[arch]
        if args.epochs:
            recipe = Recipe(**{**recipe.as_dict(), "epochs": args.epochs})
        factory = model_factory(arch, input_shape=data.input_shape, num_classes=data.num_classes)
        for k in args.k:
            halves = [np.sort(rng.permutation(n)[: n // 2]) for _ in range(k)]
            subsets = [(data.x[h], data.y[h]) for h in halves]
            t = time.perf_counter()
            for i, (x, y) in enumerate(subsets):
                train_model(
                    init_model(factory, i), x, y, recipe=recipe, generator=torch.Generator().manual_seed(i)
                )
            seq = time.perf_counter() - t
            t = time.perf_counter()
            for start in range(0, k, BATCH_CHUNK):  # in the shadow store's chunks
                ids = range(start, min(k, start + BATCH_CHUNK))
                train_batched(
                    [init_model(factory, i) for i in ids],
                    subsets[start : start + BATCH_CHUNK],
                    recipe=recipe,
                    generators=[torch.Generator().manual_seed(i) for i in ids],
                )
            bat = time.perf_counter() - t
            print(f"{arch:<10} {k:>4} {seq:>13.1f} {bat:>10.1f} {seq / bat:>7.1f}x", flush=True)


if __name__ == "__main__":
    main()
