"""Loaders for the torchvision datasets and image folders, read from ``data.root`` and never downloaded.

Each loader returns a :class:`~auditor.data.datasets.LoadedData` whose inputs are float32 ``(N, C, H, W)``,
scaled to [0, 1] and then standardised per channel. Both official splits are loaded and
concatenated, training split first, and ``test_mask`` marks the official test samples.

Before anything is read, the files each format needs are checked; a missing or unreadable file
raises :class:`~auditor.errors.ConfigError` (key ``data.root``) naming the files expected and the
folder they were looked for in. Nothing is ever downloaded: torchvision classes always get
``download=False``.

How each dataset is read:

* MNIST and Fashion-MNIST are parsed here (:mod:`auditor.data.idx`) from their IDX files, plain or
  gzipped, in torchvision's layout (``<root>/MNIST/raw/``, ``<root>/FashionMNIST/raw/``) or the
  original distribution's (the four files directly in ``<root>``, as the Debian package
  ``dataset-fashion-mnist`` installs them in ``/usr/share/datasets/fashion-mnist``). No checksum is
  enforced (re-compressed copies, such as Debian's, differ from the release's md5 sums); the loaded
  content is fingerprinted instead.
* CIFAR-10, CIFAR-100 and SVHN are read here, in the same way torchvision's classes read them
  (pickled batches; MATLAB ``.mat`` files), because torchvision refuses any file whose md5 differs
  from the official release, which rules out test fixtures and locally re-packed copies. The md5 of
  every file is still computed and compared with the official one; the result is recorded in
  ``source["checksums"]`` for the evidence rather than enforced.
* Image folders are listed by ``torchvision.datasets.ImageFolder`` and decoded with PIL.

torchvision is imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from auditor.data.datasets import LoadedData, make_loaded
from auditor.errors import ConfigError, Problem

if TYPE_CHECKING:
    from auditor.config.schema import DataConfig

__all__ = [
    "load_cifar10",
    "load_cifar100",
    "load_fashion_mnist",
    "load_imagefolder",
    "load_mnist",
    "load_svhn",
]

_NEVER_DOWNLOADS = "download it elsewhere and copy it here (this tool never downloads)"

# Per-channel mean and standard deviation of each dataset's official *training* split, over all
# pixels, with pixel values scaled to [0, 1]. Fixed published constants: nothing is computed at run
# time, so the loaded tensors (and their fingerprint) depend only on the files.
# - MNIST 0.1307 / 0.3081: the PyTorch examples repository (pytorch/examples, mnist/main.py).
# - Fashion-MNIST 0.2860 / 0.3530: the same statistic over the 60,000 Fashion-MNIST training images.
# - CIFAR-10: the training-set statistics as recomputed in kuangliu/pytorch-cifar issue #19 (the
#   widely copied std (0.2023, 0.1994, 0.2010) is a mean of per-image stds, not the dataset std).
# - CIFAR-100 and SVHN: the same statistic over their 50,000 / 73,257 training images.
_MNIST_STATS = ((0.1307,), (0.3081,))
_FASHION_MNIST_STATS = ((0.2860,), (0.3530,))
_CIFAR10_STATS = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
_CIFAR100_STATS = ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762))
_SVHN_STATS = ((0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970))

# File names and official md5 sums, as in torchvision 0.29's ``CIFAR10.train_list`` / ``test_list``
# / ``meta``, ``CIFAR100`` and ``SVHN.split_list`` (tests check they still agree).
_CIFAR10_FILES = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
_CIFAR100_FILES = {
    "train": "16019d7e3df5f24257cddd939b257f8d",
    "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
    "meta": "7973b15100ade9c7d40fb424638fde48",
}
_SVHN_FILES = {
    "train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373",
    "test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3",
}

_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


# --------------------------------------------------------------------------- helpers


def _fail(message: str) -> ConfigError:
    return ConfigError([Problem("data.root", message)])


def _root(cfg: DataConfig) -> Path:
    if cfg.root is None:
        raise _fail(f"dataset {cfg.dataset!r} is read from a local folder: set data.root")
    root = Path(cfg.root)
    if not root.is_dir() and cfg.dataset == "imagefolder":
        raise _fail(
            f"folder {root} does not exist (data.root must be the folder holding the {cfg.dataset} files)"
        )
    return root  # a missing folder of a known dataset is reported with the files it should hold


def _require_files(root: Path, folder: str, names: tuple[str, ...] | list[str], what: str) -> None:
    """Raise ConfigError if any of ``root/folder/name`` is not a file."""
    base = root / folder if folder else root
    missing = [n for n in names if not (base / n).is_file()]
    if not missing:
        return
    hints = []
    for n in missing:
        if (base / f"{n}.gz").is_file():
            hints.append(f"{n}.gz is there but compressed: decompress it (gunzip) in place")
    msg = f"{what} expects {base}/{{{', '.join(names)}}}; missing: {', '.join(missing)}; "
    if not root.is_dir():
        msg = f"folder {root} does not exist; " + msg
    if hints:
        msg += "; ".join(hints) + "; "
    msg += f"if you do not have the dataset, {_NEVER_DOWNLOADS}"
    raise _fail(msg)


def _md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _checksums(base: Path, official: dict[str, str]) -> str:
    """'official' when every file matches its published md5, else which files differ."""
    differ = [name for name, md5 in official.items() if _md5(base / name) != md5]
    if not differ:
        return "official (md5 of every file matches the published release)"
    return "not the official release files (md5 differs): " + ", ".join(differ)


def _unit_standardised(u8: np.ndarray, stats: tuple[tuple[float, ...], tuple[float, ...]]) -> np.ndarray:
    """uint8 ``(N, C, H, W)`` -> float32 in [0, 1] -> ``(x - mean) / std`` per channel, in place."""
    x = u8.astype(np.float32)  # one copy; the rest is in place (CIFAR is ~700 MB as float32)
    x /= np.float32(255.0)
    mean = np.asarray(stats[0], dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(stats[1], dtype=np.float32).reshape(1, -1, 1, 1)
    x -= mean
    x /= std
    return x


def _source(root: Path, files: list[str], reader: str, **extra: str) -> dict[str, str]:
    return {"root": str(root), "files": ",".join(files), "reader": reader, **extra}


def _check_labels(labels: np.ndarray, num_classes: int, where: str) -> None:
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise _fail(
            f"{where}: labels must lie in [0, {num_classes}), found {int(labels.min())}..{int(labels.max())}"
        )


# --------------------------------------------------------------------------- MNIST family

# Class names as torchvision's MNIST.classes / FashionMNIST.classes (tests check they agree).
_MNIST_CLASSES = (
    "0 - zero",
    "1 - one",
    "2 - two",
    "3 - three",
    "4 - four",
    "5 - five",
    "6 - six",
    "7 - seven",
    "8 - eight",
    "9 - nine",
)
_FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
# Where a Debian package provides the dataset (apt-get install <package>; files in <folder>).
_DEBIAN = {"fashion_mnist": ("dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist")}


def _idx_layouts(root: Path, cls_name: str) -> list[tuple[str, Path]]:
    """The folders an MNIST-family dataset may be in, in the order they are tried."""
    return [("torchvision", root / cls_name / "raw"), ("raw", root / "raw"), ("flat", root)]


def _idx_file(folder: Path, name: str) -> Path | None:
    """``folder/name``, else ``folder/name.gz``, else None."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _find_idx_files(root: Path, cls_name: str, title: str) -> tuple[str, list[Path]]:
    """The first layout holding all four IDX files (each plain or gzipped), or ConfigError.

    The error names both layouts, the folder that came closest and the files it lacks, and,
    where one exists, the Debian package that provides the dataset.
    """
    layouts = _idx_layouts(root, cls_name)
    best: tuple[int, Path, list[str]] | None = None
    for layout, folder in layouts:
        found = [_idx_file(folder, n) for n in _MNIST_FILES]
        if all(found):
            return layout, [p for p in found if p is not None]
        missing = [n for n, p in zip(_MNIST_FILES, found) if p is None]
        if best is None or len(missing) < len(best[2]):
            best = (len(_MNIST_FILES) - len(missing), folder, missing)
    assert best is not None
    names = ", ".join(_MNIST_FILES)
    msg = (
        f"{title} expects the four IDX files {{{names}}}, each plain or gzipped (.gz), either directly in "
        f"{root} (the original distribution's layout) or in {root / cls_name / 'raw'} (torchvision's layout); "
    )
    if not root.is_dir():
        msg = f"folder {root} does not exist; " + msg
    elif best[0]:
        msg += f"{best[1]} lacks: {', '.join(best[2])}; "
    else:
        msg += "none of them is there; "
    package = _DEBIAN.get(title)
    if package is not None:
        msg += (
            f"the Debian package {package[0]} provides {title} in the original layout "
            f"(apt-get install {package[0]}; then data.root: {package[1]}); "
        )
    msg += f"otherwise {_NEVER_DOWNLOADS}"
    raise _fail(msg)


def _read_idx_pair(images_path: Path, labels_path: Path, title: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images ``(N, H, W)`` and labels ``(N,)`` of one split, or ConfigError."""
    from auditor.data.idx import IdxError, read_idx

    try:
        images = read_idx(images_path, dtype="uint8", ndim=3)
        labels = read_idx(labels_path, dtype="uint8", ndim=1)
    except (IdxError, OSError) as exc:
        raise _fail(
            f"cannot read {title}: {exc}; expected IDX files of uint8 images (N x H x W, magic "
            f"0x00000803) and uint8 labels (N, magic 0x00000801)"
        ) from None
    if images.shape[0] != labels.shape[0]:
        raise _fail(
            f"{title}: {images_path} holds {images.shape[0]} images but {labels_path} "
            f"{labels.shape[0]} labels"
        )
    return images, labels


def _read_legacy(root: Path, cls_name: str) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Torchvision's pre-0.9 cache ``<root>/<cls>/processed/{training,test}.pt``, if present."""
    import torch

    legacy = root / cls_name / "processed"
    paths = [legacy / "training.pt", legacy / "test.pt"]
    if not all(p.is_file() for p in paths):
        return None
    parts = []
    for path in paths:
        try:
            images, labels = torch.load(path, map_location="cpu", weights_only=True)
            parts.append((np.asarray(images, dtype=np.uint8), np.asarray(labels, dtype=np.int64)))
        except Exception as exc:  # torch raises several types for bad files
            raise _fail(
                f"cannot read {path} (torchvision's legacy (images, labels) cache): "
                f"{type(exc).__name__}: {exc}"
            ) from None
    return parts


def _load_idx(
    cfg: DataConfig,
    *,
    cls_name: str,
    name: str,
    classes: tuple[str, ...],
    stats: tuple[tuple[float, ...], tuple[float, ...]],
) -> LoadedData:
    root = _root(cfg)
    try:
        layout, paths = _find_idx_files(root, cls_name, name)
    except ConfigError:
        legacy = _read_legacy(root, cls_name)
        if legacy is None:
            raise
        layout, parts = "torchvision-legacy", legacy
        files = [f"{cls_name}/processed/training.pt", f"{cls_name}/processed/test.pt"]
        reader = "torch.load(weights_only=True) of torchvision's legacy cache"
    else:
        files = [os.path.relpath(p, root) for p in paths]
        reader = "auditor.data.idx (IDX parser; .gz decompressed in memory)"
        parts = [_read_idx_pair(paths[0], paths[1], name), _read_idx_pair(paths[2], paths[3], name)]
    (train_x, train_y), (test_x, test_y) = parts
    for split, x, y in (("train", train_x, train_y), ("t10k", test_x, test_y)):
        if x.ndim != 3 or x.shape[0] != y.shape[0]:
            raise _fail(
                f"{name} {split} split disagrees: {x.shape[0]} images of shape {x.shape[1:]} "
                f"but {y.shape[0]} labels (in {root})"
            )
    if train_x.shape[1:] != test_x.shape[1:]:
        raise _fail(f"{name}: train images are {train_x.shape[1:]} but test images {test_x.shape[1:]}")
    y = np.concatenate([train_y, test_y]).astype(np.int64)
    _check_labels(y, len(classes), f"{name} labels in {root}")
    x = _unit_standardised(np.concatenate([train_x, test_x])[:, None, :, :], stats)
    test_mask = np.concatenate([np.zeros(len(train_y), bool), np.ones(len(test_y), bool)])
    return make_loaded(
        name,
        x,
        y,
        class_names=classes,
        num_classes=len(classes),
        test_mask=test_mask,
        source=_source(root, files, reader, layout=layout),
    )


def load_mnist(cfg: DataConfig) -> LoadedData:
    """MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 grey, 10 classes.

    The four IDX files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each plain or gzipped (``.gz``),
    are looked for, in this order, in ``<root>/MNIST/raw/`` (torchvision's layout), ``<root>/raw/``
    and ``<root>/`` (the original distribution's layout); the first folder holding all four is
    read. torchvision's legacy cache ``<root>/MNIST/processed/{training.pt,test.pt}`` is read when
    no folder has the IDX files. The files are parsed by :mod:`auditor.data.idx` (magic number, dims,
    big-endian, exact size). Standardised with mean 0.1307, std 0.3081.

    Reference: Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to
    document recognition", Proceedings of the IEEE 86(11), 1998.

    Args:
        cfg: The data section; ``root`` is the folder holding the files or ``MNIST/raw/``.

    Returns:
        70,000 samples shaped ``(1, 28, 28)``, train first; ``test_mask`` marks the t10k split.

    Raises:
        ConfigError: A file is missing or malformed (the message names the files and layouts expected).
    """
    return _load_idx(cfg, cls_name="MNIST", name="mnist", classes=_MNIST_CLASSES, stats=_MNIST_STATS)


def load_fashion_mnist(cfg: DataConfig) -> LoadedData:
    """Fashion-MNIST: 60,000 training and 10,000 test images of clothing, 28x28 grey, 10 classes.

    Read like :func:`load_mnist`: the four IDX files, plain or gzipped, from
    ``<root>/FashionMNIST/raw/`` (torchvision's layout), ``<root>/raw/`` or ``<root>/`` (the
    original distribution's layout). The Debian package ``dataset-fashion-mnist`` installs the
    original gzipped files in ``/usr/share/datasets/fashion-mnist``, which works as ``data.root``
    as it is. Standardised with mean 0.2860, std 0.3530.

    Reference: H. Xiao, K. Rasul and R. Vollgraf, "Fashion-MNIST: a Novel Image Dataset for
    Benchmarking Machine Learning Algorithms", arXiv:1708.07747, 2017.

    Args:
        cfg: The data section; ``root`` is the folder holding the files or ``FashionMNIST/raw/``.

    Returns:
        70,000 samples shaped ``(1, 28, 28)``, train first; ``test_mask`` marks the t10k split.

    Raises:
        ConfigError: A file is missing or malformed (the message names the files and layouts
            expected, and the Debian package).
    """
    return _load_idx(
        cfg,
        cls_name="FashionMNIST",
        name="fashion_mnist",
        classes=_FASHION_MNIST_CLASSES,
        stats=_FASHION_MNIST_STATS,
    )


# --------------------------------------------------------------------------- CIFAR


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: a dataset folder should not run code."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
        ("builtins", "bytearray"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to unpickle {module}.{name} (only numpy arrays, lists and dicts)"
        )


_PICKLE_ERRORS = (
    OSError,
    EOFError,
    pickle.UnpicklingError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    ImportError,
    UnicodeDecodeError,
)


def _unpickle(path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        entry = _NumpyOnlyUnpickler(f, encoding="latin1").load()
    if not isinstance(entry, dict):
        raise ValueError(f"expected a pickled dict, got {type(entry).__name__}")
    # The official files are Python 2 pickles (str keys under latin1); accept bytes keys as well.
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in entry.items()}


def _load_cifar(
    cfg: DataConfig,
    *,
    name: str,
    folder: str,
    files: dict[str, str],
    train: list[str],
    test: list[str],
    meta: str,
    meta_key: str,
    label_key: str,
    stats: tuple[tuple[float, ...], tuple[float, ...]],
) -> LoadedData:
    root = _root(cfg)
    names = list(files)
    _require_files(root, folder, names, name)
    base = root / folder
    images: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    counts = {"train": 0, "test": 0}
    for split, batch_names in (("train", train), ("test", test)):
        for batch in batch_names:
            path = base / batch
            try:
                entry = _unpickle(path)
                # torchvision reads "labels" when present, else "fine_labels" (CIFAR-100).
                key = "labels" if "labels" in entry else label_key
                data = np.asarray(entry["data"])
                ys = np.asarray(entry[key], dtype=np.int64).reshape(-1)
            except _PICKLE_ERRORS as exc:
                raise _fail(
                    f"cannot read {path} as a {name} batch (a pickled dict with 'data' and "
                    f"'{label_key}'): {type(exc).__name__}: {exc}"
                ) from None
            if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or len(ys) != data.shape[0]:
                raise _fail(
                    f"{path}: expected 'data' uint8 of shape (N, 3072) and N labels, "
                    f"got {data.dtype} {data.shape} and {len(ys)} labels"
                )
            images.append(data.reshape(-1, 3, 32, 32))
            labels.append(ys)
            counts[split] += data.shape[0]
    try:
        classes = tuple(str(c) for c in _unpickle(base / meta)[meta_key])
    except _PICKLE_ERRORS as exc:
        raise _fail(
            f"cannot read class names ('{meta_key}') from {base / meta}: {type(exc).__name__}: {exc}"
        ) from None
    y = np.concatenate(labels)
    _check_labels(y, len(classes), f"{name} batches in {base}")
    x = _unit_standardised(np.concatenate(images), stats)
    del images
    test_mask = np.concatenate([np.zeros(counts["train"], bool), np.ones(counts["test"], bool)])
    return make_loaded(
        name,
        x,
        y,
        class_names=classes,
        num_classes=len(classes),
        test_mask=test_mask,
        source=_source(
            root,
            [f"{folder}/{n}" for n in names],
            "auditor.data.local (torchvision's CIFAR layout, no md5 gate)",
            checksums=_checksums(base, files),
        ),
    )


def load_cifar10(cfg: DataConfig) -> LoadedData:
    """CIFAR-10: 50,000 training and 10,000 test colour images, 32x32, 10 classes.

    Expects torchvision's layout, the extracted ``cifar-10-python.tar.gz``:
    ``<root>/cifar-10-batches-py/{data_batch_1..data_batch_5, test_batch, batches.meta}``. The
    pickled batches are read here exactly as ``torchvision.datasets.CIFAR10`` reads them (``data``
    as ``(N, 3072)`` uint8, ``labels``; class names from ``batches.meta['label_names']``) but not
    through that class, which rejects files whose md5 differs from the official release. Only
    numpy arrays and plain containers are unpickled. Whether the md5 sums match the release is
    recorded in ``source['checksums']``. Standardised with mean (0.4914, 0.4822, 0.4465), std
    (0.2470, 0.2435, 0.2616).

    Reference: A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", technical
    report, University of Toronto, 2009.

    Args:
        cfg: The data section; ``root`` is the folder holding ``cifar-10-batches-py/``.

    Returns:
        60,000 samples shaped ``(3, 32, 32)``, train first; ``test_mask`` marks ``test_batch``.

    Raises:
        ConfigError: A file is missing or malformed (the message names the files expected).
    """
    return _load_cifar(
        cfg,
        name="cifar10",
        folder="cifar-10-batches-py",
        files=_CIFAR10_FILES,
        train=[f"data_batch_{i}" for i in range(1, 6)],
        test=["test_batch"],
        meta="batches.meta",
        meta_key="label_names",
        label_key="labels",
        stats=_CIFAR10_STATS,
    )


def load_cifar100(cfg: DataConfig) -> LoadedData:
    """CIFAR-100: 50,000 training and 10,000 test colour images, 32x32, 100 (fine) classes.

    Expects torchvision's layout, the extracted ``cifar-100-python.tar.gz``:
    ``<root>/cifar-100-python/{train, test, meta}``. Read here as ``torchvision.datasets.CIFAR100``
    reads them (``data``, ``fine_labels``; class names from ``meta['fine_label_names']``) but
    without its md5 gate (see :func:`load_cifar10`). Standardised with mean
    (0.5071, 0.4865, 0.4409), std (0.2673, 0.2564, 0.2762).

    Reference: A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", technical
    report, University of Toronto, 2009.

    Args:
        cfg: The data section; ``root`` is the folder holding ``cifar-100-python/``.

    Returns:
        60,000 samples shaped ``(3, 32, 32)``, train first; ``test_mask`` marks ``test``.

    Raises:
        ConfigError: A file is missing or malformed (the message names the files expected).
    """
    return _load_cifar(
        cfg,
        name="cifar100",
        folder="cifar-100-python",
        files=_CIFAR100_FILES,
        train=["train"],
        test=["test"],
        meta="meta",
        meta_key="fine_label_names",
        label_key="fine_labels",
        stats=_CIFAR100_STATS,
    )


# --------------------------------------------------------------------------- SVHN


def load_svhn(cfg: DataConfig) -> LoadedData:
    """SVHN (cropped digits): 73,257 training and 26,032 test colour images, 32x32, 10 classes.

    Expects ``<root>/train_32x32.mat`` and ``<root>/test_32x32.mat`` directly in the root, as
    ``torchvision.datasets.SVHN`` does; the ``extra`` split is not used. The MATLAB files are read
    here with ``scipy.io.loadmat`` exactly as torchvision reads them (``X`` shaped
    ``(32, 32, 3, N)`` uint8 -> ``(N, 3, 32, 32)``; ``y`` shaped ``(N, 1)`` with the digit 0
    stored as 10, mapped to 0 here as torchvision does) but not through that class, which rejects
    files whose md5 differs from the official release; the md5 comparison is recorded in
    ``source['checksums']``. Standardised with mean (0.4377, 0.4438, 0.4728), std
    (0.1980, 0.2010, 0.1970).

    Reference: Y. Netzer, T. Wang, A. Coates, A. Bissacco, B. Wu and A. Y. Ng, "Reading Digits in
    Natural Images with Unsupervised Feature Learning", NIPS Workshop on Deep Learning and
    Unsupervised Feature Learning, 2011.

    Args:
        cfg: The data section; ``root`` is the folder holding the two ``.mat`` files.

    Returns:
        The samples shaped ``(3, 32, 32)``, train first; ``test_mask`` marks ``test_32x32.mat``.

    Raises:
        ConfigError: A file is missing or malformed (the message names the files expected).
    """
    import scipy.io as sio
    from scipy.io.matlab import MatReadError

    root = _root(cfg)
    names = list(_SVHN_FILES)
    _require_files(root, "", names, "svhn")
    images, labels = [], []
    for fname in names:
        path = root / fname
        try:
            mat = sio.loadmat(str(path))
            data = np.asarray(mat["X"])
            ys = np.asarray(mat["y"]).astype(np.int64).reshape(-1)
        except (MatReadError, OSError, ValueError, TypeError, KeyError, NotImplementedError) as exc:
            raise _fail(
                f"cannot read {path} as SVHN (a MATLAB v5 .mat with X (32, 32, 3, N) and y (N, 1)): "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if data.dtype != np.uint8 or data.ndim != 4 or data.shape[2] != 3 or data.shape[3] != ys.shape[0]:
            raise _fail(
                f"{path}: expected X uint8 of shape (H, W, 3, N) and N labels, got {data.dtype} "
                f"{data.shape} and {ys.shape[0]} labels"
            )
        ys[ys == 10] = 0  # SVHN stores the digit 0 as label 10; torchvision maps it to 0
        images.append(np.transpose(data, (3, 2, 0, 1)))  # (H, W, C, N) -> (N, C, H, W), as torchvision
        labels.append(ys)
    if images[0].shape[1:] != images[1].shape[1:]:
        raise _fail(f"svhn: train images are {images[0].shape[1:]} but test images {images[1].shape[1:]}")
    classes = tuple(str(d) for d in range(10))
    y = np.concatenate(labels)
    _check_labels(y, 10, f"svhn labels in {root}")
    x = _unit_standardised(np.ascontiguousarray(np.concatenate(images)), _SVHN_STATS)
    test_mask = np.concatenate([np.zeros(len(labels[0]), bool), np.ones(len(labels[1]), bool)])
    return make_loaded(
        "svhn",
        x,
        y,
        class_names=classes,
        num_classes=10,
        test_mask=test_mask,
        source=_source(
            root,
            names,
            "auditor.data.local (torchvision's SVHN layout, read with scipy.io.loadmat without md5 check)",
            checksums=_checksums(root, _SVHN_FILES),
        ),
    )


# --------------------------------------------------------------------------- image folders


def _has_subfolders(folder: Path) -> bool:
    with os.scandir(folder) as entries:
        return any(entry.is_dir() for entry in entries)


def _list_folder(folder: Path, extensions: tuple[str, ...]) -> tuple[list[str], list[tuple[str, int]]]:
    """Classes and (path, index) samples of one ImageFolder-layout folder, or ConfigError."""
    from torchvision.datasets import ImageFolder

    accepted = ", ".join(extensions)
    if not folder.is_dir():
        raise _fail(f"folder {folder} does not exist (imagefolder expects one subfolder per class)")
    if not _has_subfolders(folder):
        raise _fail(
            f"{folder} holds no class folders: imagefolder expects {folder}/<class name>/<image> "
            f"with images ending in {accepted}"
        )
    try:
        ds = ImageFolder(str(folder), allow_empty=True)
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot list {folder} as an image folder: {exc}") from None
    present = {idx for _, idx in ds.samples}
    empty = [c for i, c in enumerate(ds.classes) if i not in present]
    if empty:
        raise _fail(
            f"class folder(s) without images: {', '.join(str(folder / c) for c in empty)}; "
            f"accepted extensions: {accepted}"
        )
    return list(ds.classes), list(ds.samples)


def _read_images(samples: list[tuple[str, int]], size: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    out = np.empty((len(samples), size, size, 3), dtype=np.uint8)
    for i, (path, _) in enumerate(samples):
        try:
            with Image.open(path) as img:
                out[i] = np.asarray(img.convert("RGB").resize((size, size), Image.Resampling.BILINEAR))
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise _fail(f"cannot decode image {path}: {exc}") from None
    return out


def load_imagefolder(cfg: DataConfig) -> LoadedData:
    """Images in torchvision's ``ImageFolder`` layout, one subfolder per class.

    Layouts accepted:

    * ``<root>/<class>/<image>``: no official split (``test_mask`` is None; the seed splits).
    * ``<root>/train/<class>/<image>`` and ``<root>/test/<class>/<image>``, both present with the
      same class folders: used as the official split (train first, ``test_mask`` marks test).

    Files are listed by ``torchvision.datasets.ImageFolder`` (classes sorted by folder name,
    nested folders included; extensions in ``torchvision.datasets.folder.IMG_EXTENSIONS``). Every
    image is converted to RGB and resized with PIL (bilinear) to ``image_size`` square (default
    32), scaled to [0, 1], then standardised per channel with the mean and std *computed from the
    loaded training images*: the ``train/`` images when there is an official split, otherwise all
    images (the later seeded split cannot be known here, so the held-out part contributes to these
    two statistics; they are recorded in ``source``).

    Args:
        cfg: The data section; ``root`` is the image folder, ``image_size`` the side in pixels.

    Returns:
        The samples shaped ``(3, image_size, image_size)``, with the class folder names as
        ``class_names``.

    Raises:
        ConfigError: The folder is missing or empty, a class folder has no images, the train and
            test class folders differ, or an image cannot be decoded.
    """
    from torchvision.datasets.folder import IMG_EXTENSIONS

    root = _root(cfg)
    size = int(cfg.image_size or 32)
    train_dir, test_dir = root / "train", root / "test"
    has_train, has_test = train_dir.is_dir(), test_dir.is_dir()

    if has_train != has_test:
        lone, other = (train_dir, "test") if has_train else (test_dir, "train")
        if _has_subfolders(lone):
            raise _fail(
                f"found {lone} (with subfolders) but no {root / other}: for an official split "
                f"give both {root}/train/<class>/ and {root}/test/<class>/; otherwise put the "
                f"class folders directly in {root}"
            )
    if has_train and has_test:
        classes, train_samples = _list_folder(train_dir, IMG_EXTENSIONS)
        test_classes, test_samples = _list_folder(test_dir, IMG_EXTENSIONS)
        if test_classes != classes:
            only_train = sorted(set(classes) - set(test_classes))
            only_test = sorted(set(test_classes) - set(classes))
            raise _fail(
                f"{train_dir} and {test_dir} must hold the same class folders; only in train: "
                f"{', '.join(only_train) or '-'}; only in test: {', '.join(only_test) or '-'}"
            )
        samples = train_samples + test_samples
        test_mask: np.ndarray | None = np.concatenate(
            [np.zeros(len(train_samples), bool), np.ones(len(test_samples), bool)]
        )
        n_train = len(train_samples)
    else:
        classes, samples = _list_folder(root, IMG_EXTENSIONS)
        test_mask = None
        n_train = len(samples)

    hwc = _read_images(samples, size)
    x = hwc.transpose(0, 3, 1, 2).astype(np.float32)
    x /= np.float32(255.0)
    train = x[:n_train]
    mean = train.mean(axis=(0, 2, 3), dtype=np.float64)
    std = train.std(axis=(0, 2, 3), dtype=np.float64)
    std = np.where(std > 1e-6, std, 1.0)  # a constant channel is centred, not blown up
    x -= mean.astype(np.float32).reshape(1, 3, 1, 1)
    x /= std.astype(np.float32).reshape(1, 3, 1, 1)
    y = np.asarray([idx for _, idx in samples], dtype=np.int64)

    rel = sorted(os.path.relpath(p, root) for p, _ in samples)
    listing = hashlib.sha256("\n".join(rel).encode()).hexdigest()
    folders = "train/, test/" if test_mask is not None else "./"
    source = _source(
        root,
        [f"{len(rel)} images under {folders}"],
        "torchvision.datasets.ImageFolder + PIL (RGB, bilinear resize)",
        image_size=str(size),
        file_list_sha256=listing,
        mean=",".join(f"{m:.6f}" for m in mean),
        std=",".join(f"{s:.6f}" for s in std),
        standardised_on="train/ images" if test_mask is not None else "all images",
    )
    return make_loaded(
        "imagefolder",
        x,
        y,
        class_names=tuple(classes),
        num_classes=len(classes),
        test_mask=test_mask,
        source=source,
    )
