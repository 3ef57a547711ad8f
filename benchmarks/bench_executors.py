"""Process-pool (and, when installed, Ray) executor vs local execution for K shadow-model jobs, side by side.

Each shadow is a model of the demo's recipe on a random half of digits. The same jobs run through
the ``local`` executor (this process, torch's intra-op threads on every core) and the ``process``
executor (``--workers`` spawned processes, cores // workers threads each), grouped exactly as the
shadow store groups them: batched chunks when the architecture allows (``--batched``), one model
per job otherwise (``--no-batched``, the path a BatchNorm model takes). The process time includes
starting the workers; the Ray time includes starting a local Ray instance.

Usage: ``python benchmarks/bench_executors.py [--k 16] [--workers 2] [--arch mlp small_cnn] [--epochs N]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from auditor.config import DataConfig  # noqa: E402
from auditor.data.datasets import load_digits  # noqa: E402
from auditor.train.core import Recipe  # noqa: E402
from auditor.train.executors import LocalExecutor, ModelJob, ProcessExecutor, RayExecutor, split_groups  # noqa: E402
from auditor.train.shadows import BATCH_CHUNK  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--arch", nargs="+", default=["mlp", "small_cnn"])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--batched",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Group into batched chunks (default: both ways).",
    )
    args = parser.parse_args()
    data = load_digits(DataConfig())
    recipe = Recipe(epochs=args.epochs, batch_size=64, optimizer="sgd", lr=0.05)
    rng = np.random.default_rng(0)
    halves = [torch.as_tensor(np.sort(rng.permutation(len(data))[: len(data) // 2])) for _ in range(args.k)]
    print(f"{os.cpu_count()} CPU cores, K = {args.k}, {args.epochs} epochs, SGD batch 64 (the demo's recipe)")
    executors = [("local", LocalExecutor()), ("process", ProcessExecutor(workers=args.workers))]
    if importlib.util.find_spec("ray") is not None:  # a local Ray instance, started inside the timing
        executors.append(
            (
                "ray",
                RayExecutor(
                    workers=args.workers, cpus_per_task=max(1, (os.cpu_count() or 1) // args.workers)
                ),
            )
        )
    header = "".join(f"{name + ' s':>10}" for name, _ in executors)
    ratios = "".join(f"{'local/' + name:>14}" for name, _ in executors[1:])
    print(f"{'arch':<10} {'grouping':<20}{header}{ratios}")
    modes = [True, False] if args.batched is None else [args.batched]
    for arch in args.arch:
        jobs = [
            ModelJob(arch, tuple(data.input_shape), data.num_classes, data.x[h], data.y[h], 100 + k, 200 + k)
            for k, h in enumerate(halves)
        ]
        for _ in LocalExecutor().run(
            [jobs[:2]], Recipe(epochs=1, batch_size=64), "cpu"
        ):  # warm-up (imports, vmap)
            pass
        for batched in modes:
            times = {}
            for name, executor in executors:
                groups = split_groups(
                    list(range(args.k)), batchable=batched, chunk=BATCH_CHUNK, workers=executor.workers
                )
                t = time.perf_counter()
                for _ in executor.run([[jobs[i] for i in g] for g in groups], recipe, "cpu"):
                    pass
                times[name] = time.perf_counter() - t
            label = "batched chunks" if batched else "one model per job"
            cells = "".join(f"{times[name]:>10.1f}" for name, _ in executors)
            rel = "".join(f"{times['local'] / times[name]:>13.2f}x" for name, _ in executors[1:])
            print(f"{arch:<10} {label:<20}{cells}{rel}", flush=True)


if __name__ == "__main__":
    main()
