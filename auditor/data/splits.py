"""Deterministic train / test / population splits and the forget set.

* **train**: what the original model is trained on; split into **forget** and **retain**.
* **test**: held-out data for utility and as non-members for membership attacks.
* **population**: data never trained on by any audited model, for attacks and for methods that
  need unseen third-party data (e.g. Chen et al.'s distribution matching).

Datasets with an official test split keep it as ``test``; ``population`` is then carved from the
official training data. Otherwise all three come from stratified splits drawn from the seed.
``data.train_size`` shrinks **train** to a seeded, stratified subset of that size; the rest of the
training pool joins **population** (more non-member data for the attacks). A split the user
declares (the loader's ``train_mask``, or ``data.split`` files; :mod:`auditor.data.declared`)
replaces the seeded one: the original was trained on it.

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
from auditor.data.declared import Declared, SplitFiles, declared_split, held_out_problems
from auditor.data.records import INDEX_LIMIT, read_id_file, read_index_file
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

    @property
    def split(self) -> SplitFiles | None:
        """The files of a declared split, or None."""

    def seeded_split_keys(self) -> list[str]:
        """The keys above that are set (and so cannot apply to a declared split)."""


class ForgetSpec(Protocol):
    """What to forget (the config's ``forget`` section has these attributes)."""

    @property
    def kind(self) -> str:
        """``class``, ``random``, ``indices`` or ``backdoor``."""

    @property
    def by(self) -> str | None:
        """For kind indices: ``id`` when the file names records by the loader's IDs, else dataset indices."""

    @property
    def column(self) -> str | None:
        """For kind indices: the CSV column holding the records, or None for one per line."""

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
        """For kind indices: the file of dataset indices or record IDs."""

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

    ``source`` says where train, test and population came from: ``seeded`` (drawn from the seed),
    ``loader`` or ``files`` (declared by the user). The digest covers the indices only, so a
    declared split equal to the seeded one has the same digest.
    """

    train: np.ndarray
    test: np.ndarray
    population: np.ndarray
    forget: np.ndarray
    retain: np.ndarray
    decoys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    source: str = "seeded"

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


def forget_indices(
    data: LoadedData,
    train: np.ndarray,
    forget: ForgetSpec,
    seed: int,
    *,
    held_out: dict[str, np.ndarray] | None = None,
    declared: bool = False,
) -> tuple[np.ndarray, list[Problem]]:
    """The forget set (sorted dataset indices) and the problems that make the request invalid.

    ``held_out`` (split name -> indices) lets a listed record that is not in ``train`` be named by
    the split it is in; ``declared`` says the training split is the user's (for the messages).
    """
    choose = {"class": _class_forget, "random": _random_forget, "backdoor": _backdoor_forget}.get(forget.kind)
    if choose is None:
        chosen, problems = _listed_forget(data, train, forget, seed, held_out or {}, declared)
    else:
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


def _listed_rows(data: LoadedData, forget: ForgetSpec) -> tuple[np.ndarray | None, list[str], list[Problem]]:
    """The dataset indices a forget file lists (repeats kept), the names it used, and its problems.

    By index: the integers as given. By ID: each ID's row (unknown IDs are problems).
    """
    path = Path(forget.path)  # type: ignore[arg-type]
    by_id = forget.by == "id"
    try:
        if forget.column is not None or by_id:
            entries = read_id_file(path, column=forget.column)
        else:
            entries = [(0, str(v)) for v in read_index_file(path)]
    except OSError as exc:
        return None, [], [Problem("forget.path", f"cannot read {path}: {exc.strerror or exc}")]
    except ValueError as exc:
        return None, [], [Problem("forget.path", str(exc))]
    names = [value for _, value in entries]
    if by_id:
        if data.ids is None:
            return (
                None,
                names,
                [
                    Problem(
                        "forget.by",
                        f"the request names records by ID, and the loader of {data.name!r} returns no record IDs: "
                        "return 'ids' (one per row) from the loader, or list dataset indices (by: index)",
                    )
                ],
            )
        position = {record: i for i, record in enumerate(data.ids)}
        unknown = [(line, v) for line, v in entries if v not in position]
        if unknown:
            shown = ", ".join(f"{v!r}" + (f" (line {line})" if line else "") for line, v in unknown[:5])
            hint = (
                "; if the file has a header row, name its column with forget.column"
                if unknown[0][0] == 1 and forget.column is None
                else ""
            )
            return (
                None,
                names,
                [
                    Problem(
                        "forget.path",
                        f"{len(unknown)} of the {len(entries)} ID(s) in {path} are not among the loader's "
                        f"{len(position)} record IDs, e.g. {shown}{hint}",
                    )
                ],
            )
        return np.asarray([position[v] for v in names], dtype=np.int64), names, []
    rows = []
    for line, value in entries:
        try:
            number = int(value)
        except ValueError:
            where = f"line {line} of {path}" if line else str(path)
            return (
                None,
                names,
                [
                    Problem(
                        "forget.path",
                        f"{where} holds {value[:40]!r}, not a dataset index; to name records by ID set forget.by: id",
                    )
                ],
            )
        if not -INDEX_LIMIT < number < INDEX_LIMIT:
            return (
                None,
                names,
                [Problem("forget.path", f"{path} holds {value[:40]!r}, far outside any dataset's indices")],
            )
        rows.append(number)
    return np.asarray(rows, dtype=np.int64), names, []


def _listed_forget(
    data: LoadedData,
    train: np.ndarray,
    forget: ForgetSpec,
    seed: int,
    held_out: dict[str, np.ndarray],
    declared: bool,
) -> _Chosen:
    """Kind ``indices``: the records listed in ``forget.path`` (by index or ID), each checked to be a training row."""
    arr, names, problems = _listed_rows(data, forget)
    if arr is None:
        return None, problems
    by_id = forget.by == "id"
    what = "ID(s)" if by_id else "index(es)"

    def shown(rows: np.ndarray) -> str:
        values = [data.ids[i] for i in rows[:5]] if by_id and data.ids is not None else rows[:5].tolist()
        return ", ".join(map(repr, values)) if by_id else str(values)

    n = len(data.y)
    values, counts = np.unique(arr, return_counts=True)
    dupes = values[counts > 1]
    if len(dupes):
        problems.append(Problem("forget.path", f"{len(dupes)} {what} listed twice, e.g. {shown(dupes)}"))
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
        where = [
            f"{int(np.isin(not_train, rows).sum())} in {name}"
            for name, rows in held_out.items()
            if np.isin(not_train, rows).any()
        ]
        split = "the declared training split" if declared else f"the training split (seed {seed})"
        problems.append(
            Problem(
                "forget.path",
                f"{len(not_train)} {what} are not in {split}"
                + (f" ({', '.join(where)})" if where else "")
                + f", e.g. {shown(not_train)}; those records were never trained on. List training records only"
                + (
                    "."
                    if declared
                    else ", or, if your original was trained on other rows, declare its split (data.split files, "
                    "or train_mask from your loader; unlearn-audit split export writes the split drawn here)."
                ),
            )
        )
    return np.unique(arr), problems


def _declared(data: LoadedData, cfg: SplitSizes) -> tuple[Declared | None, list[Problem]]:
    """The declared split, with a problem for each ``data`` key that only sizes a seeded split.

    (``data.split`` files with those keys are refused by the config schema already.)
    """
    declared, problems = declared_split(data, cfg.split)
    if declared is None or declared.source != "loader":
        return declared, problems
    drawn = cfg.seeded_split_keys()
    problems = [
        Problem(
            f"data.{key}",
            f"the loader declares which rows were trained on and held out (train_mask or split), so data.{key}, "
            "which sizes the seeded split, cannot apply: remove it",
        )
        for key in drawn
    ]
    return (None if problems else declared), problems


def make_splits(
    data: LoadedData, cfg: SplitSizes, forget: ForgetSpec, seed: int
) -> tuple[Splits | None, list[Problem]]:
    """All splits, or the problems that prevent them.

    A declared split (the loader's masks or ``data.split`` files) replaces the seeded draw.
    """
    declared, problems = _declared(data, cfg)
    if problems:
        return None, problems
    if declared is None:
        problems = train_size_problems(data, cfg, seed)
        if problems:
            return None, problems
        train, test, population = base_splits(data, cfg, seed)
        source = "seeded"
    else:
        train, test, population, source = declared.train, declared.test, declared.population, declared.source
    chosen, problems = forget_indices(
        data,
        train,
        forget,
        seed,
        held_out={"test": test, "population": population},
        declared=declared is not None,
    )
    if not problems and declared is not None:
        key = "data.split" if source == "files" else "data.dataset"
        problems = held_out_problems(data, chosen, test, population, where=key)
    if problems:
        return None, problems
    retain = np.setdiff1d(train, chosen).astype(np.int64)
    return Splits(
        train=train, test=test, population=population, forget=chosen, retain=retain, source=source
    ), []


def base_parts(
    data: LoadedData, cfg: SplitSizes, seed: int
) -> tuple[dict[str, np.ndarray] | None, str, list[Problem]]:
    """``train``, ``population`` and ``test`` before any forget request: the declared split, or the seeded draw.

    What ``unlearn-audit split export`` writes. Returns (parts or None, source, problems).
    """
    declared, problems = _declared(data, cfg)
    if problems:
        return None, "", problems
    if declared is not None:
        return (
            {"train": declared.train, "population": declared.population, "test": declared.test},
            declared.source,
            [],
        )
    problems = train_size_problems(data, cfg, seed)
    if problems:
        return None, "", problems
    train, test, population = base_splits(data, cfg, seed)
    return {"train": train, "population": population, "test": test}, "seeded", []


def manifest_text(indices: np.ndarray) -> str:
    """The forget manifest: sorted dataset indices, one per line, UTF-8, trailing newline."""
    return "".join(f"{i}\n" for i in np.sort(indices).tolist())


def manifest_digest(indices: np.ndarray) -> str:
    """sha256 of :func:`manifest_text` (re-computable with ``sha256sum forget_manifest.txt``)."""
    return hashlib.sha256(manifest_text(indices).encode()).hexdigest()
