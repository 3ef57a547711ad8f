"""Declared membership: the split the user's original was trained on, from the loader or from files.

Each refusal names its key and its numbers; ``unlearn-audit split export`` writes the split the
audit would draw, and declaring those files back gives the identical splits (same digest).
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from auditor.cli.commands import cli
from auditor.config import DataConfig, ForgetConfig, load_config
from auditor.data.datasets import load_dataset, load_digits
from auditor.data.declared import MIN_HELD_OUT
from auditor.data.splits import make_splits
from auditor.errors import ConfigError

TABLE = "tests.plugins:customer_table"


def table(**options):
    return load_dataset(DataConfig(dataset=TABLE, options=options or None))


def files(tmp_path, **parts):
    """Write split files (lists of rows) and return the data.split mapping."""
    out = {}
    for name, rows in parts.items():
        path = tmp_path / f"{name}.txt"
        path.write_text("".join(f"{r}\n" for r in rows), encoding="utf-8")
        out[name] = path
    return out


def messages(problems):
    return {p.path: p.message for p in problems}


def test_the_loader_declares_the_split_by_masks_or_by_names():
    forget = ForgetConfig(kind="random", count=30)
    by_masks, problems = make_splits(table(declare="masks"), DataConfig(), forget, 0)
    assert not problems and by_masks.source == "loader"
    part = np.arange(1797) % 4
    assert by_masks.train.tolist() == np.flatnonzero(part < 2).tolist()
    assert by_masks.test.tolist() == np.flatnonzero(part == 2).tolist()
    assert by_masks.population.tolist() == np.flatnonzero(part == 3).tolist()
    assert set(by_masks.forget) <= set(by_masks.train)
    by_names, _ = make_splits(table(declare="names"), DataConfig(), forget, 0)
    assert by_names.digest() == by_masks.digest() and by_names.source == "loader"
    seeded, _ = make_splits(table(), DataConfig(), forget, 0)
    assert seeded.source == "seeded" and seeded.digest() != by_masks.digest()


def test_a_loader_with_train_mask_alone_or_a_misspelt_key_is_refused():
    with pytest.raises(ConfigError, match="train_mask alone"):
        table(declare="train_only")
    from auditor.data.plugin import _unpack

    with pytest.raises(ConfigError, match="Did you mean 'train_mask'"):
        _unpack({"x": 1, "y": 2, "train_masks": 3}, "m:f")


def test_files_by_record_id_and_the_rest_goes_to_the_part_left_out(tmp_path):
    data = table()
    rows = np.arange(len(data))
    train, test = rows[rows % 3 == 0], rows[rows % 3 == 1]
    split = files(tmp_path, train=[data.ids[i] for i in train], test=[data.ids[i] for i in test])
    s, problems = make_splits(data, DataConfig(split=split), ForgetConfig(kind="random", count=20), 0)
    assert not problems and s.source == "files"
    assert s.train.tolist() == train.tolist() and s.test.tolist() == test.tolist()
    assert s.population.tolist() == rows[rows % 3 == 2].tolist()  # the rows no file names


def test_overlapping_splits_are_refused_with_the_numbers(tmp_path):
    data = table()
    ids = list(data.ids)
    split = files(tmp_path, train=ids[:900], test=ids[890:1300], population=ids[1300:])
    _, problems = make_splits(data, DataConfig(split=split), ForgetConfig(kind="random", count=20), 0)
    found = messages(problems)
    assert "10 row(s) are declared both train and test" in found["data.split.test"]
    assert repr(ids[890]) in found["data.split.test"]  # the first few are named


def test_overlapping_loader_masks_are_refused():
    import tests.plugins as plugins

    def overlapping():
        out = plugins.customer_table(declare="masks")
        out["test_mask"] = out["test_mask"] | (np.arange(1797) == 0)  # row 0 is also train
        return out

    plugins.overlapping_table = overlapping
    try:
        data = load_dataset(DataConfig(dataset="tests.plugins:overlapping_table"))
        _, problems = make_splits(data, DataConfig(), ForgetConfig(kind="random", count=20), 0)
    finally:
        del plugins.overlapping_table
    assert "1 row(s) are declared both train and test" in messages(problems)["data.dataset"]


def test_empty_and_too_small_held_out_splits_are_refused(tmp_path):
    data = table()
    ids = list(data.ids)
    split = files(tmp_path, train=ids[:1790], test=ids[1790:1795])  # population: the 2 rows left
    _, problems = make_splits(data, DataConfig(split=split), ForgetConfig(kind="random", count=20), 0)
    found = messages(problems)
    assert f"holds 5 row(s); it needs at least {MIN_HELD_OUT}" in found["data.split.test"]
    assert "holds 2 row(s) (the rows no other part names)" in found["data.split.population"]
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    split = files(tmp_path, test=ids[:400])
    _, problems = make_splits(
        data, DataConfig(split={**split, "train": empty}), ForgetConfig(kind="random", count=20), 0
    )
    assert "lists no rows" in messages(problems)["data.split.train"]


def test_unknown_repeated_and_out_of_range_rows_in_split_files(tmp_path):
    data = table()
    ids = list(data.ids)
    split = files(tmp_path, train=[*ids[:800], "CUST-nobody", ids[0]], test=ids[800:1200])
    _, problems = make_splits(data, DataConfig(split=split), ForgetConfig(kind="random", count=20), 0)
    text = " ".join(p.message for p in problems)
    assert "1 ID(s)" in text and "'CUST-nobody'" in text and "listed twice" in text
    digits = load_digits(DataConfig())
    split = files(tmp_path, train=[*range(800), 5000], test=range(800, 1200))
    _, problems = make_splits(digits, DataConfig(split=split), ForgetConfig(kind="random", count=20), 0)
    assert "outside 0..1796" in messages(problems)["data.split.train"]


def test_forget_records_outside_the_declared_training_split_are_named_by_split(tmp_path):
    data = table(declare="masks")
    held = [data.ids[2], data.ids[3], data.ids[6]]  # rows 2, 6: test; row 3: population
    request = tmp_path / "erase.txt"
    request.write_text("\n".join([data.ids[0], *held]) + "\n")
    _, problems = make_splits(data, DataConfig(), ForgetConfig(kind="ids", path=request), 0)
    (problem,) = problems
    assert (
        problem.path == "forget.path" and "3 ID(s) are not in the declared training split" in problem.message
    )
    assert "2 in test, 1 in population" in problem.message and repr(data.ids[2]) in problem.message


def test_the_seeded_split_refusal_says_how_to_declare_the_real_one(tmp_path):
    s, _ = make_splits(table(), DataConfig(), ForgetConfig(kind="random", count=20), 0)
    request = tmp_path / "erase.txt"
    request.write_text(f"{s.test[0]}\n")
    _, problems = make_splits(table(), DataConfig(), ForgetConfig(kind="indices", path=request), 0)
    assert "declare its split" in problems[0].message and "split export" in problems[0].message


def test_too_few_held_out_rows_of_the_forgotten_class(tmp_path):
    data = table()
    y = data.y.numpy()
    rows = np.arange(len(y))
    threes = rows[y == 3]
    train = np.concatenate([rows[(y != 3) & (rows % 2 == 0)], threes])  # every 3 trained on
    test, population = rows[(y != 3) & (rows % 4 == 1)], rows[(y != 3) & (rows % 4 == 3)]
    split = files(
        tmp_path,
        train=[data.ids[i] for i in train],
        test=[data.ids[i] for i in test],
        population=[data.ids[i] for i in population],
    )
    _, problems = make_splits(data, DataConfig(split=split), ForgetConfig(kind="class", classes=[3]), 0)
    assert "only 0 held-out row(s)" in messages(problems)["data.split"]


def test_a_declared_split_refuses_the_keys_that_size_a_seeded_one(write_config, tmp_path):
    split = {"train": "train.txt", "test": "test.txt"}
    with pytest.raises(ConfigError) as info:
        load_config(write_config({"data": {"split": split, "train_size": 500, "test_fraction": 0.3}}))
    (problem,) = info.value.problems
    assert "data.train_size, data.test_fraction" in problem.message
    load_config(
        write_config({"data": {"split": split, "train_size": None, "test_fraction": 0.25}})
    )  # defaults
    with pytest.raises(ConfigError, match="at least one of population and test"):
        load_config(write_config({"data": {"split": {"train": "train.txt"}}}))
    data = table(declare="masks")
    _, problems = make_splits(data, DataConfig(train_size=100), ForgetConfig(kind="random", count=20), 0)
    assert "the loader declares" in messages(problems)["data.train_size"]


def test_files_and_loader_masks_together_are_refused(tmp_path):
    data = table(declare="masks")
    split = files(tmp_path, train=data.ids[:10], test=data.ids[10:30])
    _, problems = make_splits(data, DataConfig(split=split), ForgetConfig(kind="random", count=2), 0)
    assert "keep one" in messages(problems)["data.split"]


def test_index_files_of_other_data_are_refused_by_their_fingerprint(tmp_path):
    from auditor.data.declared import write_split_files

    digits = load_digits(DataConfig())
    rows = np.arange(len(digits))
    parts = {"train": rows[:1000], "population": rows[1000:1400], "test": rows[1400:]}
    written = write_split_files(digits, parts, tmp_path / "split", ids=False, note="test")
    assert "# dataset fingerprint: " + digits.fingerprint in written["train"].read_text()
    s, problems = make_splits(digits, DataConfig(split=written), ForgetConfig(kind="random", count=20), 0)
    assert not problems and s.train.tolist() == parts["train"].tolist()
    other = table()  # the same number of rows, other content
    _, problems = make_splits(
        other, DataConfig(split={**written, "by": "index"}), ForgetConfig(kind="random", count=20), 0
    )
    assert "another dataset" in messages(problems)["data.split.train"]


@pytest.mark.parametrize(
    "options", [{}, {"integer_ids": True}, None], ids=["string-ids", "integer-ids", "no-ids"]
)
def test_split_export_then_declare_gives_the_identical_splits(write_config, tmp_path, options):
    """Round trip through the CLI: the exported files, declared back, give the same split digest."""
    data_section = (
        {"dataset": "digits"} if options is None else {"dataset": TABLE, "options": options or None}
    )
    if options is not None and not options:
        data_section.pop("options")
    config = {
        "data": {**data_section, "train_size": 900, "population_fraction": 0.15},
        "forget": {"kind": "random", "fraction": 0.1},
        "seed": 3,
    }
    path = write_config(config)
    result = CliRunner().invoke(cli, ["split", "export", str(path)])
    assert result.exit_code == 0, result.output
    assert "train: split/train.txt" in result.output or "split/train.txt" in result.output
    assert "remove data.train_size, data.population_fraction" in result.output
    folder = tmp_path / "split"
    by_id = options is not None
    first = (folder / "train.txt").read_text().splitlines()
    assert first[0].startswith(
        "# unlearn-audit split: train, 900 rows by " + ("record ID" if by_id else "dataset index")
    )
    original = load_config(path)
    declared = load_config(
        write_config(
            {
                "data": {
                    **data_section,
                    "split": {p: f"split/{p}.txt" for p in ("train", "population", "test")},
                },
                "forget": config["forget"],
                "seed": 3,
            },
            "declared.yaml",
        )
    )
    data = load_dataset(original.data)
    before, problems = make_splits(data, original.data, original.forget, 3)
    after, problems_after = make_splits(data, declared.data, declared.forget, 3)
    assert not problems and not problems_after
    assert before.source == "seeded" and after.source == "files"
    assert after.digest() == before.digest()


def test_split_export_writes_atomically_and_refuses_a_bad_config(write_config, tmp_path):
    bad = write_config({"data": {"dataset": "digits", "train_size": 5000}})
    result = CliRunner().invoke(cli, ["split", "export", str(bad), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "data.train_size" in result.output
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


@pytest.mark.e2e
def test_an_audit_of_named_ids_on_a_declared_split_writes_no_id(write_config, tmp_path):
    """The loader declares the split and returns IDs; the request names IDs in a CSV column.

    The evidence records the split's source and the request's count, salt and digest, and no output
    file holds any ID.
    """
    import json

    from auditor.data.records import salted_digest
    from auditor.run.pipeline import run_audit
    from tests.helpers import tiny_config

    data = table(declare="masks")
    erased = [data.ids[i] for i in range(0, 160, 4)]  # 40 training rows (position mod 4 == 0)
    (tmp_path / "erase.csv").write_text(
        "customer_id,ticket\n" + "".join(f"{i},T-{k}\n" for k, i in enumerate(erased))
    )
    config = tiny_config(
        data={"dataset": TABLE, "options": {"declare": "masks"}},
        forget={"kind": "ids", "path": "erase.csv", "column": "customer_id"},
        report={"formats": ["json", "html"], "request_id": "ER-2026-7"},
    )
    cfg = load_config(write_config(config))
    outcome = run_audit(cfg, out=tmp_path / "out", sign=True)
    ev = outcome.evidence
    assert ev["data"]["split_source"] == "loader"
    assert ev["data"]["counts"]["train"] == int((np.arange(len(data)) % 4 < 2).sum())
    recorded = ev["data"]["forget"]["ids"]
    assert recorded["count"] == 40
    assert recorded["salted_sha256"] == salted_digest(erased, bytes.fromhex(recorded["salt"]))
    manifest = (tmp_path / "out" / "forget_manifest.txt").read_text().split()
    assert manifest == [str(i) for i in range(0, 160, 4)]  # dataset indices, not IDs
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert {"evidence.json", "report.html", "forget_manifest.txt", "evidence.intoto.json"} <= {
        p.name for p in files
    }
    every_id = set(data.ids)
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        leaked = [i for i in every_id if i in text]
        assert not leaked, f"{path.name} holds IDs, e.g. {leaked[:3]}"
    json.loads((tmp_path / "out" / "evidence.json").read_text())


def test_a_backdoor_audit_of_a_checkpoint_on_a_declared_split_is_refused(write_config):
    """The canaries are planted before the audit trains the original: a checkpoint trained elsewhere never saw them."""
    from auditor.data.splits import Splits
    from auditor.run.preflight import declared_split_problems

    rows = np.arange(100)
    splits = Splits(
        train=rows[:60], test=rows[60:80], population=rows[80:], forget=rows[:5], retain=rows[5:60]
    )
    config = {
        "forget": {"kind": "backdoor", "count": 5, "target": 0},
        "model": {"checkpoint": "original.pt"},
        "attacks": [{"name": "accuracy"}],
    }
    cfg = load_config(write_config(config))
    (problem,) = declared_split_problems(cfg, Splits(**{**splits.__dict__, "source": "files"}))
    assert problem.path == "forget.kind" and "never saw them" in problem.message
    assert declared_split_problems(cfg, splits) == []  # a seeded split: the checkpoint may be the audit's own
    cfg = load_config(write_config({**config, "model": {}}, "trained_here.yaml"))
    assert declared_split_problems(cfg, Splits(**{**splits.__dict__, "source": "files"})) == []
