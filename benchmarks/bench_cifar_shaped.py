"""Time one training epoch per model on a CIFAR-shaped synthetic workload, to extrapolate an audit.

torchvision's ``FakeData`` gives 32x32x3 images in 10 classes (random pixels: the timing of a
training step does not depend on what the pixels show). For each architecture this trains one
model for one epoch over ``--size`` images with the audit's trainer and a CIFAR recipe (SGD,
batch 128, random crop + flip), then prints seconds per image and what that implies for CIFAR-10:
one epoch over its 50,000 training images, and a whole audit's training budget, i.e. the original
and ``--references`` retrains on the full set plus ``--shadows`` shadow models on halves, for
``--epochs`` epochs each. Run it on the machine you will audit on (``--device cuda`` on a GPU) and
multiply.

Usage: ``python benchmarks/bench_cifar_shaped.py [--arch resnet18 small_cnn] [--size 512]
[--device cpu] [--epochs 30] [--shadows 16] [--references 2]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torchvision  # noqa: E402
from torchvision.transforms import ToTensor  # noqa: E402

from auditor.train.architectures import init_model, model_factory  # noqa: E402
from auditor.train.core import Recipe, train_model  # noqa: E402

CIFAR_TRAIN = 50_000
RECIPE = Recipe(
    epochs=1,
    batch_size=128,
    optimizer="sgd",
    lr=0.1,
    momentum=0.9,
    weight_decay=5e-4,
    schedule="cosine",
    augment="crop_hflip",
)


def fake_cifar(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``size`` CIFAR-shaped images and labels from torchvision's FakeData (deterministic)."""
    ds = torchvision.datasets.FakeData(
        size=size, image_size=(3, 32, 32), num_classes=10, transform=ToTensor(), random_offset=0
    )
    xs, ys = zip(*(ds[i] for i in range(size)))
    return torch.stack(xs), torch.tensor(ys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", nargs="+", default=["resnet18", "small_cnn"])
    parser.add_argument("--size", type=int, default=512, help="Images in the timed epoch.")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=30, help="Epochs per model in the extrapolation.")
    parser.add_argument("--shadows", type=int, default=16)
    parser.add_argument("--references", type=int, default=2)
    args = parser.parse_args()
    x, y = fake_cifar(args.size)
    print(
        f"device {args.device}, torch threads {torch.get_num_threads()}, {args.size} FakeData images 3x32x32, "
        f"recipe SGD batch {RECIPE.batch_size} crop+flip"
    )
    print(f"{'arch':<10} {'s/epoch':>8} {'ms/image':>9} {'CIFAR-10 epoch':>15} {'audit training':>15}")
    for arch in args.arch:
        factory = model_factory(arch, input_shape=(3, 32, 32), num_classes=10)
        warm = init_model(factory, 0)  # one warm-up step: allocator, kernels
        train_model(
            warm,
            x[: RECIPE.batch_size],
            y[: RECIPE.batch_size],
            recipe=RECIPE,
            generator=torch.Generator().manual_seed(0),
            device=args.device,
        )
        model = init_model(factory, 1)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        train_model(
            model, x, y, recipe=RECIPE, generator=torch.Generator().manual_seed(1), device=args.device
        )
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t
        per_image = seconds / args.size
        epoch = per_image * CIFAR_TRAIN
        images = (1 + args.references) * CIFAR_TRAIN + args.shadows * CIFAR_TRAIN / 2
        audit_h = per_image * images * args.epochs / 3600
        print(
            f"{arch:<10} {seconds:>8.1f} {per_image * 1e3:>9.2f} {epoch / 60:>11.1f} min {audit_h:>12.1f} h",
            flush=True,
        )
    print(
        f"audit training = (1 original + {args.references} references) x 50,000 images + {args.shadows} shadows "
        f"x 25,000 images, {args.epochs} epochs each; attacks and the report add little on top."
    )


if __name__ == "__main__":
    main()
