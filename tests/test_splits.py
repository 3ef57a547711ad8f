"""Splits and forget requests: deterministic, stratified, and bad requests rejected."""

from __future__ import annotations

import numpy as np

from auditor.config import DataConfig, ForgetConfig
from auditor.data.datasets import load_digits
from auditor.data.splits import make_splits, manifest_digest, manifest_text

DATA = load_digits(DataConfig())


def split(forget: ForgetConfig, seed: int = 0):
    return make_splits(DATA, DataConfig(), forget, seed)


def test_deterministic_disjoint_and_stratified():
    a, _ = split(ForgetConfig(kind="random", fraction=0.1))
    b, _ = split(ForgetConfig(kind="random", fraction=0.1))
    c, _ = split(ForgetConfig(kind="random", fraction=0.1), seed=1)
    assert a.digest() == b.digest() != c.digest()
    assert not set(a.train) & set(a.test) and not set(a.train) & set(a.population)
    assert len(a.train) + len(a.test) + len(a.population) == len(DATA)
    assert set(a.forget) | set(a.retain) == set(a.train) and not set(a.forget) & set(a.retain)
    y = DATA.y.numpy()
    share = np.bincount(y[a.test], minlength=10) / np.bincount(y, minlength=10)
    assert np.allclose(share, 0.25, atol=0.02)  # each class held out in the same proportion
    assert len(a.forget) == round(0.1 * len(a.train))


def test_class_forgetting_takes_every_training_sample_of_the_class():
    s, problems = split(ForgetConfig(kind="class", classes=[3, 5]))
    assert not problems
    y = DATA.y.numpy()
    assert set(y[s.forget]) == {3, 5} and not np.isin(y[s.retain], [3, 5]).any()


def test_bad_requests_are_named():
    _, p = split(ForgetConfig(kind="class", classes=[12]))
    assert p[0].path == "forget.classes" and "0..9" in p[0].message
    _, p = split(ForgetConfig(kind="random", count=100_000))
    assert p[0].path == "forget.count"
    everything = ForgetConfig(kind="class", classes=list(range(10)))
    _, p = split(everything)
    assert p[0].path == "forget" and "whole training set" in p[0].message


def test_index_files(tmp_path):
    s, _ = split(ForgetConfig(kind="class", classes=[1]))
    good = tmp_path / "ids.txt"
    good.write_text("# erasure request 42\n" + "\n".join(map(str, s.train[:5])) + "\n")
    out, problems = split(ForgetConfig(kind="indices", path=good))
    assert not problems and out.forget.tolist() == sorted(s.train[:5].tolist())
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{s.test[0]}\n{s.train[0]}\n{s.train[0]}\n99999\n")
    _, problems = split(ForgetConfig(kind="indices", path=bad))
    text = " ".join(p.message for p in problems)
    assert "not in the training split" in text and "twice" in text and "outside" in text
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    _, problems = split(ForgetConfig(kind="indices", path=empty))
    assert problems[0].path == "forget" and "empty" in problems[0].message


def test_manifest_is_sorted_and_hashable():
    idx = np.array([5, 1, 3])
    assert manifest_text(idx) == "1\n3\n5\n"
    import hashlib

    assert manifest_digest(idx) == hashlib.sha256(b"1\n3\n5\n").hexdigest()


def test_train_size_takes_a_stratified_seeded_subset_and_grows_the_population():
    forget = ForgetConfig(kind="random", fraction=0.1)
    full, _ = make_splits(DATA, DataConfig(), forget, 0)
    a, problems = make_splits(DATA, DataConfig(train_size=500), forget, 0)
    b, _ = make_splits(DATA, DataConfig(train_size=500), forget, 0)
    c, _ = make_splits(DATA, DataConfig(train_size=500), forget, 1)
    assert not problems and len(a.train) == 500 and len(a.forget) == 50
    assert a.digest() == b.digest() != c.digest() and a.digest() != full.digest()
    assert set(a.train) < set(full.train) and np.array_equal(a.test, full.test)
    assert set(a.population) == set(full.population) | (set(full.train) - set(a.train))  # the rest joins
    assert len(a.train) + len(a.test) + len(a.population) == len(DATA)
    y = DATA.y.numpy()
    expected = 500 * np.bincount(y[full.train], minlength=10) / len(full.train)
    assert np.all(np.abs(np.bincount(y[a.train], minlength=10) - expected) < 1)  # stratified
    same, _ = make_splits(DATA, DataConfig(train_size=len(full.train)), forget, 0)
    assert same.digest() == full.digest()  # the whole pool: nothing changes


def test_train_size_larger_than_the_pool_is_named():
    pool = len(make_splits(DATA, DataConfig(), ForgetConfig(kind="random", fraction=0.1), 0)[0].train)
    splits, problems = make_splits(
        DATA, DataConfig(train_size=pool + 1), ForgetConfig(kind="random", fraction=0.1), 0
    )
    assert splits is None and problems[0].path == "data.train_size"
    assert f"at most {pool}" in problems[0].message and str(pool + 1) in problems[0].message
