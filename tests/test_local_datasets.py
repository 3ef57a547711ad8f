"""Tests for auditor.data.local on tiny fake datasets written in each real on-disk format."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from auditor.config import DataConfig
from auditor.data import local as ld
from auditor.errors import ConfigError

# --------------------------------------------------------------------------- fixture writers


def _write_idx_images(path: Path, images: np.ndarray) -> None:
    n, h, w = images.shape
    path.write_bytes(struct.pack(">IIII", 0x00000803, n, h, w) + images.astype(np.uint8).tobytes())


def _write_idx_labels(path: Path, labels: np.ndarray) -> None:
    path.write_bytes(struct.pack(">II", 0x00000801, len(labels)) + labels.astype(np.uint8).tobytes())


def _make_idx(
    root: Path,
    folder: str,
    n_train: int = 5,
    n_test: int = 3,
    seed: int = 0,
    *,
    layout: str = "torchvision",
    gz: bool = False,
) -> dict[str, np.ndarray]:
    """Tiny MNIST-shaped IDX files in ``layout``: torchvision (root/folder/raw), raw (root/raw) or flat (root)."""
    rng = np.random.default_rng(seed)
    raw = {"torchvision": root / folder / "raw", "raw": root / "raw", "flat": root}[layout]
    raw.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        _write_idx_images(raw / f"{split}-images-idx3-ubyte", images)
        _write_idx_labels(raw / f"{split}-labels-idx1-ubyte", labels)
        arrays[f"{split}_x"], arrays[f"{split}_y"] = images, labels
    if gz:
        for name in ld._MNIST_FILES:
            plain = raw / name
            (raw / f"{name}.gz").write_bytes(gzip.compress(plain.read_bytes()))
            plain.unlink()
    return arrays


def _cifar_batch(rng: np.random.Generator, n: int, n_classes: int, label_key: str) -> dict:
    return {
        "batch_label": "fake batch",
        label_key: [int(v) for v in rng.integers(0, n_classes, size=n)],
        "data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        "filenames": [f"img_{i}.png" for i in range(n)],
    }


def _dump(path: Path, obj: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def _make_cifar10(root: Path, per_batch: int = 2, n_test: int = 3) -> dict[str, list]:
    rng = np.random.default_rng(1)
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True)
    labels: dict[str, list] = {"train": [], "test": []}
    for i in range(1, 6):
        batch = _cifar_batch(rng, per_batch, 10, "labels")
        labels["train"] += batch["labels"]
        _dump(base / f"data_batch_{i}", batch)
    batch = _cifar_batch(rng, n_test, 10, "labels")
    labels["test"] += batch["labels"]
    _dump(base / "test_batch", batch)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    _dump(base / "batches.meta", {"label_names": names, "num_cases_per_batch": per_batch, "num_vis": 3072})
    return labels


def _make_cifar100(root: Path, n_train: int = 4, n_test: int = 2) -> None:
    rng = np.random.default_rng(2)
    base = root / "cifar-100-python"
    base.mkdir(parents=True)
    for name, n in (("train", n_train), ("test", n_test)):
        batch = _cifar_batch(rng, n, 100, "fine_labels")
        batch["coarse_labels"] = [v // 5 for v in batch["fine_labels"]]
        _dump(base / name, batch)
    _dump(
        base / "meta",
        {
            "fine_label_names": [f"class_{i:02d}" for i in range(100)],
            "coarse_label_names": [f"super_{i:02d}" for i in range(20)],
        },
    )


def _make_svhn(root: Path, n_train: int = 4, n_test: int = 3) -> dict[str, np.ndarray]:
    from scipy.io import savemat

    rng = np.random.default_rng(3)
    out = {}
    for name, n in (("train", n_train), ("test", n_test)):
        x = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
        y = rng.integers(1, 11, size=(n, 1)).astype(np.uint8)  # digit 0 stored as 10
        y[0, 0] = 10
        savemat(str(root / f"{name}_32x32.mat"), {"X": x, "y": y})
        out[f"{name}_x"], out[f"{name}_y"] = x, y
    return out


def _make_images(folder: Path, classes: dict[str, int], size: int = 10, seed: int = 4) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    for cls, n in classes.items():
        (folder / cls).mkdir(parents=True)
        for i in range(n):
            arr = rng.integers(0, 256, size=(size, size + 3, 3), dtype=np.uint8)
            Image.fromarray(arr).save(folder / cls / f"{i}.png")


def _assert_common(data, n: int, shape: tuple[int, ...], n_test: int | None) -> None:
    import torch

    assert data.x.shape == (n, *shape)
    assert data.x.dtype == torch.float32
    assert data.y.dtype == torch.int64
    assert len(data) == n
    if n_test is None:
        assert data.test_mask is None
    else:
        assert data.test_mask is not None and data.test_mask.dtype == bool
        assert data.test_mask.shape == (n,)
        assert int(data.test_mask.sum()) == n_test
        assert not data.test_mask[: n - n_test].any()  # train first, then test
    assert data.fingerprint and data.source["root"]


def _config_error(fn, cfg) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        fn(cfg)
    assert info.value.problems[0].path == "data.root"
    return info.value


# --------------------------------------------------------------------------- MNIST family


@pytest.mark.parametrize(
    ("dataset", "folder", "fn", "mean", "std"),
    [
        ("mnist", "MNIST", ld.load_mnist, 0.1307, 0.3081),
        ("fashion_mnist", "FashionMNIST", ld.load_fashion_mnist, 0.2860, 0.3530),
    ],
)
def test_idx_datasets(tmp_path: Path, dataset: str, folder: str, fn, mean: float, std: float) -> None:
    arrays = _make_idx(tmp_path, folder)
    cfg = DataConfig(dataset=dataset, root=tmp_path)
    data = fn(cfg)
    _assert_common(data, 8, (1, 28, 28), 3)
    assert data.y.tolist() == [*arrays["train_y"].tolist(), *arrays["t10k_y"].tolist()]
    assert data.num_classes == 10 and len(data.class_names) == 10
    expected = (np.concatenate([arrays["train_x"], arrays["t10k_x"]]) / 255.0 - mean) / std
    np.testing.assert_allclose(data.x[:, 0].numpy(), expected, atol=1e-5)
    assert fn(cfg).fingerprint == data.fingerprint
    if dataset == "fashion_mnist":
        assert data.class_names[0] == "T-shirt/top"
    assert f"{folder}/raw/train-images-idx3-ubyte" in data.source["files"]


@pytest.mark.parametrize(
    ("layout", "gz"), [("flat", True), ("flat", False), ("raw", True), ("raw", False), ("torchvision", True)]
)
def test_idx_layouts_and_compression(tmp_path: Path, layout: str, gz: bool) -> None:
    reference = ld.load_fashion_mnist(DataConfig(dataset="fashion_mnist", root=_tv(tmp_path / "tv")))
    arrays = _make_idx(tmp_path / "d", "FashionMNIST", layout=layout, gz=gz)
    data = ld.load_fashion_mnist(DataConfig(dataset="fashion_mnist", root=tmp_path / "d"))
    assert data.fingerprint == reference.fingerprint  # same content, whatever the layout or compression
    assert data.y.tolist() == [*arrays["train_y"].tolist(), *arrays["t10k_y"].tolist()]
    assert data.source["layout"] == layout
    prefix = {"flat": "", "raw": "raw/", "torchvision": "FashionMNIST/raw/"}[layout]
    assert data.source["files"].split(",")[0] == f"{prefix}train-images-idx3-ubyte{'.gz' if gz else ''}"


def _tv(root: Path) -> Path:
    _make_idx(root, "FashionMNIST")
    return root


def test_idx_torchvision_layout_comes_first(tmp_path: Path) -> None:
    _make_idx(tmp_path, "MNIST", seed=1, layout="flat", gz=True)
    arrays = _make_idx(tmp_path, "MNIST", seed=2)
    data = ld.load_mnist(DataConfig(dataset="mnist", root=tmp_path))
    assert data.source["layout"] == "torchvision"
    assert data.y.tolist() == [*arrays["train_y"].tolist(), *arrays["t10k_y"].tolist()]


def test_missing_dataset_names_both_layouts_and_the_debian_package(tmp_path: Path) -> None:
    exc = _config_error(ld.load_fashion_mnist, DataConfig(dataset="fashion_mnist", root=tmp_path))
    msg = exc.problems[0].message
    assert "train-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg and "(.gz)" in msg
    assert f"directly in {tmp_path} (the original distribution's layout)" in msg
    assert f"{tmp_path / 'FashionMNIST' / 'raw'} (torchvision's layout)" in msg
    assert "Debian package dataset-fashion-mnist" in msg and "/usr/share/datasets/fashion-mnist" in msg
    assert "never downloads" in msg
    # MNIST has no Debian package: none is named.
    exc = _config_error(ld.load_mnist, DataConfig(dataset="mnist", root=tmp_path))
    assert "Debian" not in exc.problems[0].message and "never downloads" in exc.problems[0].message


def test_mnist_missing_file_is_named(tmp_path: Path) -> None:
    _make_idx(tmp_path, "MNIST")
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    exc = _config_error(ld.load_mnist, DataConfig(dataset="mnist", root=tmp_path))
    msg = exc.problems[0].message
    assert f"{tmp_path / 'MNIST' / 'raw'} lacks: t10k-labels-idx1-ubyte" in msg
    assert "never downloads" in msg


def test_mnist_corrupt_file_is_a_config_error(tmp_path: Path) -> None:
    _make_idx(tmp_path, "MNIST")
    (tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"garbage!")
    exc = _config_error(ld.load_mnist, DataConfig(dataset="mnist", root=tmp_path))
    assert (
        "train-images-idx3-ubyte" in exc.problems[0].message and "not an IDX file" in exc.problems[0].message
    )


def test_mnist_broken_gzip_is_a_config_error(tmp_path: Path) -> None:
    for name in ld._MNIST_FILES:
        (tmp_path / f"{name}.gz").write_bytes(b"\x1f\x8b")
    exc = _config_error(ld.load_mnist, DataConfig(dataset="mnist", root=tmp_path))
    assert "not a readable gzip file" in exc.problems[0].message


def test_mnist_labels_and_images_disagree(tmp_path: Path) -> None:
    _make_idx(tmp_path, "MNIST")
    _write_idx_labels(tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte", np.zeros(2, np.uint8))
    exc = _config_error(ld.load_mnist, DataConfig(dataset="mnist", root=tmp_path))
    assert "3 images" in exc.problems[0].message and "2 labels" in exc.problems[0].message


def test_missing_root_folder(tmp_path: Path) -> None:
    exc = _config_error(ld.load_mnist, DataConfig(dataset="mnist", root=tmp_path / "nope"))
    assert "does not exist" in exc.problems[0].message


DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(
    not DEBIAN_FASHION_MNIST.is_dir(),
    reason="Debian package dataset-fashion-mnist not installed (make install installs it)",
)
def test_debian_fashion_mnist_as_it_is() -> None:
    data = ld.load_fashion_mnist(DataConfig(dataset="fashion_mnist", root=DEBIAN_FASHION_MNIST))
    assert data.x.shape == (70_000, 1, 28, 28) and int(data.test_mask.sum()) == 10_000
    assert data.source["layout"] == "flat" and data.source["files"].endswith("t10k-labels-idx1-ubyte.gz")
    assert np.bincount(data.y.numpy(), minlength=10).tolist() == [7000] * 10
    assert abs(float(data.x[:60_000].mean())) < 0.01  # standardised with the training-split statistics


# --------------------------------------------------------------------------- CIFAR


def test_cifar10(tmp_path: Path) -> None:
    labels = _make_cifar10(tmp_path)
    cfg = DataConfig(dataset="cifar10", root=tmp_path)
    data = ld.load_cifar10(cfg)
    _assert_common(data, 13, (3, 32, 32), 3)
    assert data.y.tolist() == labels["train"] + labels["test"]
    assert data.class_names[0] == "airplane" and data.num_classes == 10
    assert ld.load_cifar10(cfg).fingerprint == data.fingerprint
    assert "cifar-10-batches-py/test_batch" in data.source["files"]
    assert data.source["checksums"].startswith("not the official release")
    # channel layout: the first 1024 bytes of a row are the red plane
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_1", "rb") as f:
        first = pickle.load(f)["data"][0]
    red = (first[:1024].reshape(32, 32) / 255.0 - 0.4914) / 0.2470
    np.testing.assert_allclose(data.x[0, 0].numpy(), red, atol=1e-5)


def test_cifar10_missing_file_is_named(tmp_path: Path) -> None:
    _make_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    exc = _config_error(ld.load_cifar10, DataConfig(dataset="cifar10", root=tmp_path))
    msg = exc.problems[0].message
    assert "missing: data_batch_3" in msg and str(tmp_path / "cifar-10-batches-py") in msg


def test_cifar10_corrupt_file_is_a_config_error(tmp_path: Path) -> None:
    _make_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    exc = _config_error(ld.load_cifar10, DataConfig(dataset="cifar10", root=tmp_path))
    assert "test_batch" in exc.problems[0].message


def test_cifar_refuses_code_in_pickles(tmp_path: Path) -> None:
    _make_cifar10(tmp_path)
    _dump(tmp_path / "cifar-10-batches-py" / "batches.meta", {"label_names": Path("x")})
    exc = _config_error(ld.load_cifar10, DataConfig(dataset="cifar10", root=tmp_path))
    assert "refusing to unpickle" in exc.problems[0].message


def test_cifar100(tmp_path: Path) -> None:
    _make_cifar100(tmp_path)
    cfg = DataConfig(dataset="cifar100", root=tmp_path)
    data = ld.load_cifar100(cfg)
    _assert_common(data, 6, (3, 32, 32), 2)
    assert data.num_classes == 100 and data.class_names[99] == "class_99"
    assert ld.load_cifar100(cfg).fingerprint == data.fingerprint
    (tmp_path / "cifar-100-python" / "meta").unlink()
    exc = _config_error(ld.load_cifar100, cfg)
    assert "missing: meta" in exc.problems[0].message


# --------------------------------------------------------------------------- SVHN


def test_svhn(tmp_path: Path) -> None:
    arrays = _make_svhn(tmp_path)
    cfg = DataConfig(dataset="svhn", root=tmp_path)
    data = ld.load_svhn(cfg)
    _assert_common(data, 7, (3, 32, 32), 3)
    y = np.concatenate([arrays["train_y"], arrays["test_y"]]).reshape(-1).astype(np.int64)
    y[y == 10] = 0
    assert data.y.tolist() == y.tolist()
    assert data.y[0] == 0 and int(data.y.max()) <= 9
    assert data.class_names == tuple(str(d) for d in range(10))
    # X(:, :, c, i) is image i's channel c, rows first
    expected = (arrays["train_x"][:, :, 1, 0] / 255.0 - 0.4438) / 0.2010
    np.testing.assert_allclose(data.x[0, 1].numpy(), expected, atol=1e-5)
    assert ld.load_svhn(cfg).fingerprint == data.fingerprint
    (tmp_path / "test_32x32.mat").unlink()
    exc = _config_error(ld.load_svhn, cfg)
    assert "missing: test_32x32.mat" in exc.problems[0].message


def test_svhn_bad_mat(tmp_path: Path) -> None:
    _make_svhn(tmp_path)
    (tmp_path / "train_32x32.mat").write_bytes(b"\x00" * 200)
    exc = _config_error(ld.load_svhn, DataConfig(dataset="svhn", root=tmp_path))
    assert "train_32x32.mat" in exc.problems[0].message


# --------------------------------------------------------------------------- image folders


def test_imagefolder_flat(tmp_path: Path) -> None:
    _make_images(tmp_path, {"cat": 3, "dog": 2})
    cfg = DataConfig(dataset="imagefolder", root=tmp_path, image_size=8)
    data = ld.load_imagefolder(cfg)
    _assert_common(data, 5, (3, 8, 8), None)
    assert data.class_names == ("cat", "dog")
    assert data.y.tolist() == [0, 0, 0, 1, 1]
    # standardised on the loaded images: per-channel mean 0, std 1
    np.testing.assert_allclose(data.x.mean(dim=(0, 2, 3)).numpy(), 0.0, atol=1e-4)
    np.testing.assert_allclose(data.x.numpy().std(axis=(0, 2, 3)), 1.0, atol=1e-3)
    assert ld.load_imagefolder(cfg).fingerprint == data.fingerprint
    assert data.source["standardised_on"] == "all images"


def test_imagefolder_default_size_and_split(tmp_path: Path) -> None:
    _make_images(tmp_path / "train", {"a": 2, "b": 2, "c": 1})
    _make_images(tmp_path / "test", {"a": 1, "b": 1, "c": 1}, seed=5)
    data = ld.load_imagefolder(DataConfig(dataset="imagefolder", root=tmp_path))
    _assert_common(data, 8, (3, 32, 32), 3)
    assert data.class_names == ("a", "b", "c")
    assert data.y.tolist() == [0, 0, 1, 1, 2, 0, 1, 2]
    train = data.x[:5].numpy()
    np.testing.assert_allclose(train.mean(axis=(0, 2, 3)), 0.0, atol=1e-4)


def test_imagefolder_empty_class_folder(tmp_path: Path) -> None:
    _make_images(tmp_path, {"cat": 2})
    (tmp_path / "dog").mkdir()
    (tmp_path / "dog" / "notes.txt").write_text("no images here")
    exc = _config_error(ld.load_imagefolder, DataConfig(dataset="imagefolder", root=tmp_path))
    msg = exc.problems[0].message
    assert str(tmp_path / "dog") in msg and ".png" in msg and ".jpg" in msg


def test_imagefolder_empty_root(tmp_path: Path) -> None:
    exc = _config_error(ld.load_imagefolder, DataConfig(dataset="imagefolder", root=tmp_path))
    assert "no class folders" in exc.problems[0].message and ".png" in exc.problems[0].message


def test_imagefolder_mismatched_split_and_lone_train(tmp_path: Path) -> None:
    _make_images(tmp_path / "train", {"a": 1, "b": 1})
    exc = _config_error(ld.load_imagefolder, DataConfig(dataset="imagefolder", root=tmp_path))
    assert "no " + str(tmp_path / "test") in exc.problems[0].message
    _make_images(tmp_path / "test", {"a": 1, "z": 1})
    exc = _config_error(ld.load_imagefolder, DataConfig(dataset="imagefolder", root=tmp_path))
    assert "only in train: b" in exc.problems[0].message and "only in test: z" in exc.problems[0].message


def test_imagefolder_undecodable_image(tmp_path: Path) -> None:
    _make_images(tmp_path, {"cat": 1})
    (tmp_path / "cat" / "broken.png").write_bytes(b"not a png")
    exc = _config_error(ld.load_imagefolder, DataConfig(dataset="imagefolder", root=tmp_path))
    assert "broken.png" in exc.problems[0].message


# --------------------------------------------------------------------------- consistency with torchvision


def test_file_tables_match_torchvision() -> None:
    import torchvision.datasets as tvd

    def table(cls) -> dict[str, str]:
        return {n: m for n, m in cls.train_list + cls.test_list} | {cls.meta["filename"]: cls.meta["md5"]}

    assert table(tvd.CIFAR10) == ld._CIFAR10_FILES
    assert table(tvd.CIFAR100) == ld._CIFAR100_FILES
    assert {v[1]: v[2] for k, v in tvd.SVHN.split_list.items() if k != "extra"} == ld._SVHN_FILES
    assert tuple(r[0].removesuffix(".gz") for r in tvd.MNIST.resources) == ld._MNIST_FILES
    assert tuple(r[0].removesuffix(".gz") for r in tvd.FashionMNIST.resources) == ld._MNIST_FILES
    assert tuple(tvd.MNIST.classes) == ld._MNIST_CLASSES
    assert tuple(tvd.FashionMNIST.classes) == ld._FASHION_MNIST_CLASSES


def test_registered_in_loaders() -> None:
    from auditor.data.datasets import LOADERS

    for name in ("mnist", "fashion_mnist", "cifar10", "cifar100", "svhn", "imagefolder"):
        module, func = str(LOADERS[name]).split(":")
        assert module == "auditor.data.local" and hasattr(ld, func)
