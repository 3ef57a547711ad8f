"""The Fashion-MNIST method tables again with convolutional networks, when a CUDA GPU is present.

Runs ``benchmarks/methods.py`` on ``examples/fashion_mnist.yaml`` with each architecture (``small_cnn``,
``resnet18``) trained on the whole 48,000-image pool (``data.train_size: null``) for 30 epochs on the GPU,
for the settings of ``docs/results_fashion_mnist_class.md`` and ``docs/results_papers.md``: class 7,
classes 1 and 7, random 3 %, 15 % and 30 % (``nabla_tau``, ``dist_match`` and the baselines that support
them), and backdoor (60 canaries). Each architecture writes ``docs/results_gpu_<arch>.md`` with its per-seed
JSON beside it; ``--resume`` continues an interrupted run. Without a GPU it prints "no GPU" and exits 0
(the CPU tables are the MLP ones in the files above).

Usage::

    python benchmarks/gpu_recipe.py [--archs small_cnn resnet18] [--seeds 0 1 2] [--settings ...] [--resume]

The model cache (``$UNLEARN_AUDIT_CACHE``, default ``~/.cache/unlearn-audit``) keeps the originals,
references and shadows between invocations; with 12 references and 16 LiRA shadows per seed and setting,
most of the time goes into training them once.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARCHS = ("small_cnn", "resnet18")
SETTINGS = ("class:7", "class:1,7", "random:0.03", "random:0.15", "random:0.3", "backdoor")
RECIPE = {  # README's "on a GPU" recipe for examples/fashion_mnist.yaml
    "data.train_size": "null",
    "training.epochs": "30",
    "execution.device": "cuda",
}


def gpu_present() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def command(arch: str, args: argparse.Namespace) -> list[str]:
    """The ``methods.py`` command line for one architecture."""
    cmd = [
        sys.executable,
        str(REPO / "benchmarks" / "methods.py"),
        "--config",
        str(REPO / "examples" / "fashion_mnist.yaml"),
        "--seeds",
        *map(str, args.seeds),
        "--settings",
        *args.settings,
        "--out",
        str(args.out_dir / f"results_gpu_{arch}.md"),
        "--set",
        f"model.arch={arch}",
    ]
    for key, value in RECIPE.items():
        cmd += ["--set", f"{key}={value}"]
    if args.methods:
        cmd += ["--methods", *args.methods]
    if args.resume:
        cmd.append("--resume")
    return cmd


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archs", nargs="+", default=list(ARCHS), choices=ARCHS)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS))
    ap.add_argument("--methods", nargs="+", default=None)
    ap.add_argument("--resume", action="store_true", help="skip the runs already in each results JSON")
    ap.add_argument("--out-dir", type=Path, default=REPO / "docs")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = ap.parse_args()
    if not args.dry_run and not gpu_present():
        print("no GPU: torch.cuda.is_available() is False; nothing run (the CPU tables are the MLP ones)")
        return 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.setdefault("UNLEARN_AUDIT_CACHE", str(Path.home() / ".cache" / "unlearn-audit"))
    for arch in args.archs:
        cmd = command(arch, args)
        print(" ".join(cmd), flush=True)
        if not args.dry_run:
            subprocess.run(cmd, env=env, check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
