"""Deterministic train / test / population splits and the forget set.

* **train**: what the original model is trained on; split into **forget** and **retain**.
* **test**: held-out data for utility and as non-members for membership attacks.
* **population**: data never trained on by any audited model, for attacks and for methods that
  need unseen third-party data (e.g. Chen et al.'s distribution matching).

Datasets with an official test split keep it as ``test``; ``population`` is then carved from the
official training data. Otherwise all three come from stratified splits drawn from the seed.
``data.train_size`` shrinks **train** to a seeded, stratified subset of that size; the rest of the
training pool joins **population** (more non-member data for the attacks).

The functions read the config's ``data`` and ``forget`` sections through the :class:`SplitSizes`
and :class:`ForgetSpec` protocols (the attributes they use), so this module never imports the
config schema: the sections themselves, or any object with those attributes, will do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from auditor.data.datasets import LoadedData
from auditor.errors import Problem
from auditor.seeding import derive_seed, numpy_rng


class SplitSizes(Protocol):
    """How the dataset is split (the config's ``data`` section has these attributes)."""

    @property
    def test_fraction(self) -> float:
        """Share held out as test data, when the dataset has no official test split."""

    @property
    def population_fraction(self) -> float:
        """Share held out as population data."""

    @property
    def train_size(self) -> int | None:
        """Size of the stratified training subset, or None for the whole training pool."""


class ForgetSpec(Protocol):
    """What to forget (the config's ``forget`` section has these attributes)."""

    @property
    def kind(self) -> str:
        """``class``, ``random``, ``indices`` or ``backdoor``."""

    @property
    def classes(self) -> Sequence[int] | None:
        """For kind class: the labels to forget."""

    @property
    def fraction(self) -> float | None:
        """For kind random or backdoor: the share of the training split (or ``count``)."""

    @property
    def count(self) -> int | None:
        """For kind random or backdoor: the number of training samples (or ``fraction``)."""

    @property
    def path(self) -> Path | None:
        """For kind indices: the file of dataset indices."""

    @property
    def target(self) -> int | None:
        """For kind backdoor: the label the trigger flips canaries to."""


@dataclass(frozen=True)
class Splits:
    """Sorted dataset indices of each split (int64 arrays).

    ``decoys`` exist only under backdoor forgetting: held-out samples (taken out of the population,
    outside the target class) that carry the trigger and the target label like the canaries but
    were never trained on, so membership attacks compare canaries with exchangeable non-members
    (statistics review M4.3) rather than with clean target-class images.
    """

    train: np.ndarray
    test: np.ndarray
    population: np.ndarray
    forget: np.ndarray
    retain: np.ndarray
    decoys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def _names(self) -> tuple[str, ...]:
        base = ("train", "test", "population", "forget", "retain")
        return base + (("decoys",) if len(self.decoys) else ())

    def counts(self) -> dict[str, int]:
        return {k: int(len(getattr(self, k))) for k in self._names()}

    def digest(self) -> str:
        """sha256 over every split's sorted indices."""
        h = hashlib.sha256()
        for name in self._names():
            h.update(name.encode() + b":" + ",".join(map(str, getattr(self, name).tolist())).encode() + b";")
        return h.hexdigest()


def _stratified_split(
    idx: np.ndarray, labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``idx`` into (rest, held) with ``fraction`` of each class in ``held``."""
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(labels):
        members = idx[labels == c]
        members = members[rng.permutation(len(members))]
        held.append(members[: int(round(fraction * len(members)))])
    held_arr = np.sort(np.concatenate(held)) if held else np.empty(0, dtype=np.int64)
    rest = np.setdiff1d(idx, held_arr)
    return rest.astype(np.int64), held_arr.astype(np.int64)


def _stratified_subset(idx: np.ndarray, labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Exactly ``size`` of ``idx`` (sorted), each class in proportion to its share of ``idx``.

    Per-class quotas are ``size * n_c / n`` rounded down, and the ``size - sum`` samples left over
    go to the classes with the largest remainders (ties to the smaller label), so the subset has
    exactly ``size`` samples and no class is off its share by one or more.
    """
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    exact = size * counts / counts.sum()
    quota = np.floor(exact).astype(np.int64)
    order = sorted(range(len(classes)), key=lambda i: (-(exact[i] - quota[i]), classes[i]))
    quota[order[: size - int(quota.sum())]] += 1
    chosen = [idx[labels == c][rng.permutation(int(n))[:q]] for c, n, q in zip(classes, counts, quota)]
    return np.sort(np.concatenate(chosen)).astype(np.int64) if chosen else np.empty(0, dtype=np.int64)


def base_splits(data: LoadedData, cfg: SplitSizes, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, test, population) dataset indices, sorted, determined by the seed.

    The training *pool* is what the test and population splits leave. With ``cfg.train_size``
    the original trains on a stratified subset of that many pool samples (drawn from the seed)
    and the rest of the pool joins the population; :func:`train_size_problems` checks the size.
    """
    return _base_splits(data, cfg, seed, train_size=cfg.train_size)


def _base_splits(
    data: LoadedData, cfg: SplitSizes, seed: int, *, train_size: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = data.y.numpy()
    all_idx = np.arange(len(y), dtype=np.int64)
    if data.test_mask is not None:
        test = all_idx[data.test_mask]
        pool = all_idx[~data.test_mask]
        share = cfg.population_fraction
    else:
        pool, test = _stratified_split(all_idx, y, cfg.test_fraction, derive_seed(seed, "split/test"))
        share = cfg.population_fraction / (1.0 - cfg.test_fraction)
    train, population = _stratified_split(pool, y[pool], share, derive_seed(seed, "split/population"))
    if train_size is not None and train_size < len(train):
        subset = _stratified_subset(train, y[train], train_size, derive_seed(seed, "split/train_size"))
        population = np.union1d(population, np.setdiff1d(train, subset)).astype(np.int64)
        train = subset
    return train, np.sort(test), population


def train_size_problems(data: LoadedData, cfg: SplitSizes, seed: int) -> list[Problem]:
    """A problem when ``data.train_size`` exceeds the training pool (the test and population splits' rest)."""
    if cfg.train_size is None:
        return []
    pool = len(_base_splits(data, cfg, seed, train_size=None)[0])
    if cfg.train_size <= pool:
        return []
    return [
        Problem(
            "data.train_size",
            f"{cfg.train_size} is more than the {pool} samples available: the training "
            f"pool of '{data.name}' ({len(data)} samples less the test and population "
            f"splits); set data.train_size to at most {pool}, or lower "
            "data.population_fraction",
        )
    ]


INDEX_LIMIT = 2**62  # larger than any dataset; keeps every index inside int64


def read_index_file(path: Path) -> list[int]:
    """Integers, one per line; blank lines and ``#`` comments ignored.

    Raises:
        ValueError: A line is not an integer or is far outside any dataset (its line number named),
            or the file is not UTF-8 text.
        OSError: The file cannot be read.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path} is not UTF-8 text (byte offset {exc.start}); write one index per line"
        ) from None
    out = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        shown = raw.strip() if len(raw.strip()) <= 40 else raw.strip()[:40] + "..."
        try:
            value = int(line)
        except ValueError:
            raise ValueError(f"line {lineno} of {path} is not an integer index: {shown!r}") from None
        if not -INDEX_LIMIT < value < INDEX_LIMIT:
            raise ValueError(
                f"line {lineno} of {path} holds {shown!r}, far outside any dataset's indices; "
                "list dataset indices of training samples"
            ) from None
        out.append(value)
    return out


def forget_indices(
    data: LoadedData, train: np.ndarray, forget: ForgetSpec, seed: int
) -> tuple[np.ndarray, list[Problem]]:
    """The forget set (sorted dataset indices) and the problems that make the request invalid."""
    choose = {"class": _class_forget, "random": _random_forget, "backdoor": _backdoor_forget}.get(
        forget.kind, _listed_forget
    )
    chosen, problems = choose(data, train, forget, seed)
    if chosen is None:  # the request cannot even be drawn
        return np.empty(0, dtype=np.int64), problems
    chosen = np.sort(chosen.astype(np.int64))
    if not problems and len(chosen) == 0:
        problems.append(
            Problem("forget", "the forget set is empty: nothing in the training split matches the request")
        )
    elif not problems and len(chosen) == len(train):
        problems.append(
            Problem(
                "forget",
                "the forget set is the whole training set: there is nothing to retain, "
                "and no reference model can be retrained",
            )
        )
    return chosen, problems


_Chosen = tuple[np.ndarray | None, list[Problem]]


def _requested(forget: ForgetSpec, train_count: int) -> int:
    """How many samples a ``random`` or ``backdoor`` request asks for (``count``, or ``fraction`` of training)."""
    return forget.count if forget.count is not None else int(round((forget.fraction or 0.0) * train_count))


def _class_forget(data: LoadedData, train: np.ndarray, forget: ForgetSpec, seed: int) -> _Chosen:
    """Kind ``class``: every training sample of the listed classes."""
    bad = [c for c in forget.classes or [] if not 0 <= c < data.num_classes]
    if bad:
        return None, [
            Problem(
                "forget.classes",
                f"class {', '.join(map(str, bad))} not in the dataset "
                f"'{data.name}', whose labels are 0..{data.num_classes - 1}",
            )
        ]
    return train[np.isin(data.y.numpy()[train], list(forget.classes or []))], []


def _random_forget(data: LoadedData, train: np.ndarray, forget: ForgetSpec, seed: int) -> _Chosen:
    """Kind ``random``: a seeded uniform draw from the training split."""
    n = _requested(forget, len(train))
    if n > len(train):
        return None, [
            Problem("forget.count", f"asks for {n} samples but the training split has {len(train)}")
        ]
    rng = numpy_rng(seed, "forget/random")
    return rng.choice(train, size=n, replace=False), []


def _backdoor_forget(data: LoadedData, train: np.ndarray, forget: ForgetSpec, seed: int) -> _Chosen:
    """Kind ``backdoor``: the canaries, training samples outside the target class."""
    from auditor.data.triggers import choose_canaries

    if data.x.ndim != 4:
        return None, [
            Problem(
                "forget.kind", "backdoor canaries need image inputs (N, C, H, W); this dataset is tabular"
            )
        ]
    target = forget.target or 0
    if not 0 <= target < data.num_classes:
        return None, [
            Problem(
                "forget.target",
                f"class {forget.target} not in the dataset '{data.name}' (labels 0..{data.num_classes - 1})",
            )
        ]
    n = _requested(forget, len(train))
    chosen = choose_canaries(data, train, target=target, count=n, seed=seed)
    if len(chosen) < n:
        return chosen, [
            Problem(
                "forget.count",
                f"asks for {n} canaries but only {len(chosen)} training samples lie outside the target class",
            )
        ]
    return chosen, []


def _listed_forget(data: LoadedData, train: np.ndarray, forget: ForgetSpec, seed: int) -> _Chosen:
    """Kind ``indices``: the dataset indices listed in ``forget.path``, each checked to be a training sample."""
    path = Path(forget.path)  # type: ignore[arg-type]
    try:
        listed = read_index_file(path)
    except OSError as exc:
        return None, [Problem("forget.path", f"cannot read {path}: {exc.strerror or exc}")]
    except ValueError as exc:
        return None, [Problem("forget.path", str(exc))]
    n = len(data.y)
    arr = np.asarray(listed, dtype=np.int64)
    values, counts = np.unique(arr, return_counts=True)
    dupes = values[counts > 1]
    problems = []
    if len(dupes):
        problems.append(
            Problem("forget.path", f"{len(dupes)} index(es) listed twice, e.g. {dupes[:5].tolist()}")
        )
    out_of_range = arr[(arr < 0) | (arr >= n)]
    if len(out_of_range):
        problems.append(
            Problem(
                "forget.path",
                f"{len(out_of_range)} index(es) outside 0..{n - 1}, e.g. {out_of_range[:5].tolist()}",
            )
        )
    not_train = np.setdiff1d(arr[(arr >= 0) & (arr < n)], train)
    if len(not_train):
        problems.append(
            Problem(
                "forget.path",
                f"{len(not_train)} index(es) are not in the training split "
                f"(seed {seed}), e.g. {not_train[:5].tolist()}; those samples were "
                "never trained on. List dataset indices of training samples only.",
            )
        )
    return np.unique(arr), problems


def make_splits(
    data: LoadedData, cfg: SplitSizes, forget: ForgetSpec, seed: int
) -> tuple[Splits | None, list[Problem]]:
    """All splits, or the problems that prevent them."""
    problems = train_size_problems(data, cfg, seed)
    if problems:
        return None, problems
    train, test, population = base_splits(data, cfg, seed)
    chosen, problems = forget_indices(data, train, forget, seed)
    if problems:
        return None, problems
    retain = np.setdiff1d(train, chosen).astype(np.int64)
    return Splits(train=train, test=test, population=population, forget=chosen, retain=retain), []


def manifest_text(indices: np.ndarray) -> str:
    """The forget manifest: sorted dataset indices, one per line, UTF-8, trailing newline."""
    return "".join(f"{i}\n" for i in np.sort(indices).tolist())


def manifest_digest(indices: np.ndarray) -> str:
    """sha256 of :func:`manifest_text` (re-computable with ``sha256sum forget_manifest.txt``)."""
    return hashlib.sha256(manifest_text(indices).encode()).hexdigest()
