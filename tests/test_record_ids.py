"""Record IDs: a loader's IDs, erasure requests by ID (one per line or a CSV column), and the salted
digest the evidence records instead of the IDs."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from click.testing import CliRunner

from auditor.cli.commands import cli
from auditor.config import DataConfig, ForgetConfig, load_config
from auditor.data.datasets import load_dataset
from auditor.data.provenance import data_record
from auditor.data.records import normalise_ids, salted_digest
from auditor.data.splits import make_splits
from auditor.errors import ConfigError

TABLE = "tests.plugins:customer_table"


def table(**options):
    return load_dataset(DataConfig(dataset=TABLE, options=options or None))


def request(tmp_path, lines, name="erase.txt"):
    path = tmp_path / name
    path.write_text("".join(f"{v}\n" for v in lines), encoding="utf-8")
    return path


def seeded_train():
    s, _ = make_splits(table(), DataConfig(), ForgetConfig(kind="random", count=10), 0)
    return s


def test_a_request_by_id_finds_the_rows(tmp_path):
    data, s = table(), seeded_train()
    wanted = sorted(s.train[[0, 5, 9, 40]].tolist())
    path = request(tmp_path, ["# request ER-7", *(data.ids[i] for i in wanted)])
    out, problems = make_splits(data, DataConfig(), ForgetConfig(kind="ids", path=path), 0)
    assert not problems and out.forget.tolist() == wanted
    assert ForgetConfig(kind="ids", path=path).model_dump()["kind"] == "indices"  # kind ids: indices by id


def test_a_csv_column_of_ids_and_a_forgotten_header_row(tmp_path):
    data, s = table(integer_ids=True), seeded_train()
    wanted = s.train[:3].tolist()
    csv = tmp_path / "erase.csv"
    csv.write_text(
        "requested_on,customer_id\n"
        + "".join(f"2026-01-0{k + 1},{data.ids[i]}\n" for k, i in enumerate(wanted))
    )
    forget = ForgetConfig(kind="ids", path=csv, column="customer_id")
    out, problems = make_splits(data, DataConfig(), forget, 0)
    assert not problems and out.forget.tolist() == sorted(wanted)
    _, problems = make_splits(data, DataConfig(), ForgetConfig(kind="ids", path=csv, column="customer"), 0)
    assert "no column 'customer'. Did you mean 'customer_id'" in problems[0].message
    header = request(tmp_path, ["customer_id", *(data.ids[i] for i in wanted)], "with_header.txt")
    _, problems = make_splits(data, DataConfig(), ForgetConfig(kind="ids", path=header), 0)
    assert "'customer_id' (line 1)" in problems[0].message and "forget.column" in problems[0].message


def test_unknown_ids_are_refused_listing_the_first_few(tmp_path):
    data, s = table(), seeded_train()
    path = request(tmp_path, [data.ids[s.train[0]], *(f"CUST-x{k}" for k in range(7))])
    _, problems = make_splits(data, DataConfig(), ForgetConfig(kind="ids", path=path), 0)
    (problem,) = problems
    assert problem.path == "forget.path" and "7 of the 8 ID(s)" in problem.message
    assert "'CUST-x0' (line 2)" in problem.message and "'CUST-x4'" in problem.message
    assert "'CUST-x5'" not in problem.message  # the first five only


def test_duplicate_ids_are_refused(tmp_path):
    data, s = table(), seeded_train()
    ids = [data.ids[i] for i in s.train[:3]]
    path = request(tmp_path, [*ids, ids[1], ids[2]])
    _, problems = make_splits(data, DataConfig(), ForgetConfig(kind="ids", path=path), 0)
    assert "2 ID(s) listed twice" in problems[0].message and repr(ids[1]) in problems[0].message


def test_held_out_ids_are_refused(tmp_path):
    data, s = table(), seeded_train()
    path = request(tmp_path, [data.ids[s.train[0]], data.ids[s.test[0]], data.ids[s.population[0]]])
    _, problems = make_splits(data, DataConfig(), ForgetConfig(kind="ids", path=path), 0)
    (problem,) = problems
    assert "2 ID(s) are not in the training split (seed 0) (1 in test, 1 in population)" in problem.message
    assert repr(data.ids[s.test[0]]) in problem.message


def test_a_request_by_id_needs_a_loader_with_ids(tmp_path):
    from auditor.data.datasets import load_digits

    _, problems = make_splits(
        load_digits(DataConfig()), DataConfig(), ForgetConfig(kind="ids", path=request(tmp_path, ["a"])), 0
    )
    assert problems[0].path == "forget.by" and "returns no record IDs" in problems[0].message


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ([1, 2, 2], "name more than one row, e.g. '2'"),
        ([1, "1", 3], "integer 12 and text '12' are the same ID"),
        ([1.0, 2.0, 3.0], "is a float"),
        (["a", " ", "c"], "row 1 is an empty ID"),
        (["a", "#b", "c"], "starts with '#'"),
        (["a", "b\nc", "d"], "line break"),
        (["a", None, "c"], "NoneType"),
        ([1, 2], "2 IDs for 3 rows"),
    ],
)
def test_loader_ids_must_be_unique_strings_or_integers(values, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        normalise_ids(values, count=3)


def test_loader_ids_are_text_and_a_repeated_id_is_a_config_error():
    assert normalise_ids(np.array([7, 8, 9]), count=3) == ("7", "8", "9")
    assert normalise_ids([" a ", "b", 3], count=3) == ("a", "b", "3")
    with pytest.raises(ConfigError, match="name more than one row") as info:
        table(repeat_id=True)
    assert info.value.problems[0].path == "data.dataset"


def test_the_salted_digest_follows_its_published_recipe():
    """sha256(salt || each ID in sorted order + newline), UTF-8: what a requester recomputes by hand."""
    salt = bytes.fromhex("00ff" * 8)
    ids = ["CUST-20", "CUST-3", "Zoë"]
    by_hand = hashlib.sha256(salt + "".join(i + "\n" for i in sorted(ids)).encode("utf-8")).hexdigest()
    assert salted_digest(reversed(ids), salt) == by_hand
    assert salted_digest(ids, bytes(16)) != by_hand  # the salt matters


def test_the_evidence_records_count_salt_and_digest_never_an_id(tmp_path):
    data, s = table(), seeded_train()
    wanted = s.train[:25]
    path = request(tmp_path, [data.ids[i] for i in wanted])
    forget = ForgetConfig(kind="ids", path=path)
    splits, _ = make_splits(data, DataConfig(), forget, 0)
    salt = bytes(range(16))
    record = data_record(data, splits, forget, id_salt=salt)
    assert record["split_source"] == "seeded"
    assert record["forget"]["ids"] == {
        "count": 25,
        "salt": salt.hex(),
        "salted_sha256": salted_digest([data.ids[i] for i in wanted], salt),
    }
    text = json.dumps(record)
    assert not [i for i in data.ids if i in text]


def test_ids_digest_recomputes_and_compares_with_the_evidence(tmp_path):
    ids = ["CUST-1", "CUST-22", "CUST-3"]
    salt = "ab" * 16
    evidence = tmp_path / "evidence.json"
    recorded = {"count": 3, "salt": salt, "salted_sha256": salted_digest(ids, bytes.fromhex(salt))}
    evidence.write_text(json.dumps({"data": {"forget": {"ids": recorded}}}))
    csv = tmp_path / "erase.csv"
    csv.write_text("customer_id,note\n" + "".join(f"{i},x\n" for i in reversed(ids)))
    runner = CliRunner()
    ok = runner.invoke(
        cli, ["ids", "digest", str(csv), "--column", "customer_id", "--evidence", str(evidence)]
    )
    assert ok.exit_code == 0 and "MATCHES" in ok.output and recorded["salted_sha256"] in ok.output
    wrong = request(tmp_path, ids[:2])
    bad = runner.invoke(cli, ["ids", "digest", str(wrong), "--evidence", str(evidence)])
    assert bad.exit_code == 1 and "DOES NOT MATCH" in bad.output
    plain = runner.invoke(cli, ["ids", "digest", str(wrong), "--salt", salt])
    assert plain.exit_code == 0 and salted_digest(ids[:2], bytes.fromhex(salt)) in plain.output
    usage = runner.invoke(cli, ["ids", "digest", str(wrong)])
    assert usage.exit_code == 2 and "--salt" in usage.output


def test_kind_ids_in_a_config(write_config):
    cfg = load_config(write_config({"forget": {"kind": "ids", "path": "erase.csv", "column": "customer_id"}}))
    assert cfg.forget.kind == "indices" and cfg.forget.by_id and cfg.forget.column == "customer_id"
    with pytest.raises(ConfigError, match="kind 'ids' names records by ID"):
        load_config(write_config({"forget": {"kind": "ids", "path": "e.csv", "by": "index"}}))
    with pytest.raises(ConfigError, match="kind 'class' does not take column"):
        load_config(write_config({"forget": {"kind": "class", "classes": [1], "column": "c"}}))


def test_the_readmes_python_one_liner_gives_the_same_digest(tmp_path):
    """The documented recipe, run as printed, recomputes the evidence's salted digest."""
    import shlex
    import subprocess
    import sys

    from tests.helpers import REPO

    line = next(
        line
        for line in (REPO / "README.md").read_text().splitlines()
        if line.startswith('python -c "import hashlib')
    )
    ids = ["C0000042", "C1234567", "Zoë-9"]
    path = request(tmp_path, ["# request ER-1", *ids, ""])
    salt = "0f" * 16
    words = shlex.split(line)
    words = [sys.executable, *words[1:-2], salt, str(path)]
    assert shlex.split(line)[-2:] == ["SALT", "erase.txt"]
    done = subprocess.run(words, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == salted_digest(ids, bytes.fromhex(salt)), done.stderr
