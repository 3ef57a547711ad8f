"""Config validation: every problem at once, located, with suggestions."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from attacks import ATTACKS
from attacks.base import Attack, Need
from auditor.cli.commands import cli
from auditor.cli.init_template import STARTER
from auditor.config import FORGET_KINDS, AuditConfig, load_config, parse_config
from auditor.errors import ConfigError
from tests.plugins import NaNUnlearner
from unlearners import UNLEARNERS


def problems(path):
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return {p.path: p for p in info.value.problems}


def test_defaults_are_valid_and_the_starter_validates(write_config):
    assert AuditConfig().data.dataset == "digits"
    cfg = load_config(write_config(STARTER))
    assert cfg.forget.classes == [3] and cfg.unlearner.name == "finetune"


def test_all_errors_reported_at_once_with_paths_lines_and_suggestions(write_config):
    path = write_config(
        "seed: 0\n"
        "data:\n"
        "  datset: digits\n"  # misspelt key, line 3
        "training:\n"
        "  epochs: many\n"  # wrong type, line 5
        "  lr: -1\n"  # out of range, line 6
        "forget:\n"
        "  kind: clas\n"  # misspelt literal, line 8
        "unlearner:\n"
        "  name: finetun\n"  # misspelt registry name, line 10
    )
    found = problems(path)
    assert set(found) == {"data.datset", "training.epochs", "training.lr", "forget.kind", "unlearner.name"}
    assert "Did you mean 'dataset'" in found["data.datset"].message and found["data.datset"].line == 3
    assert found["training.epochs"].line == 5 and "many" in found["training.epochs"].message
    assert found["training.lr"].line == 6
    assert "'class'" in found["forget.kind"].message
    assert "'finetune'" in found["unlearner.name"].message and found["unlearner.name"].line == 10


def test_plugin_params_are_validated_against_the_plugin_schema(write_config):
    path = write_config(
        {
            "unlearner": {"name": "finetune", "params": {"epoch": 3}},
            "attacks": [{"name": "threshold", "params": {"signals": ["los"]}}],
        }
    )
    found = problems(path)
    assert "Did you mean 'epochs'" in found["unlearner.params.epoch"].message
    assert "attacks.0.params.signals.0" in found


def test_cross_field_checks(write_config):
    found = problems(write_config({"gates": {"rules": [{"metric": "accuracy.forgett", "tolerance": 0.1}]}}))
    assert "accuracy.forget" in found["gates.rules.0.metric"].message
    assert "forget" in problems(write_config({"forget": {"kind": "class"}}))
    assert "backdoor" in problems(write_config({"forget": {"kind": "backdoor"}}))["forget"].message
    found = problems(write_config({"forget": {"kind": "random", "fraction": 0.1, "count": 5}}))
    assert "exactly one" in found["forget"].message


def test_malformed_yaml_and_non_mapping(write_config):
    found = problems(write_config("data: [unclosed\n"))
    assert "not valid YAML" in found[""].message
    assert "mapping" in problems(write_config("- a\n- b\n"))[""].message


def test_relative_paths_resolve_against_the_config_folder(write_config, tmp_path):
    cfg = load_config(write_config({"data": {"dataset": "npz", "path": "d.npz"}, "report": {"out": "out"}}))
    assert cfg.data.path == tmp_path / "d.npz" and cfg.report.out == tmp_path / "out"


def test_cli_validate_exit_codes_and_schema(write_config):
    runner = CliRunner()
    ok = runner.invoke(cli, ["config", "validate", str(write_config({"seed": 1}))])
    assert ok.exit_code == 0 and "valid" in ok.output
    bad = runner.invoke(cli, ["config", "validate", str(write_config({"sed": 1}))])
    assert bad.exit_code == 2 and "sed" in bad.output and "Did you mean 'seed'" in bad.output
    schema = json.loads(runner.invoke(cli, ["config", "schema"]).output)
    assert schema["additionalProperties"] is False and "forget" in schema["properties"]


def test_init_writes_a_valid_config(tmp_path):
    runner = CliRunner()
    target = tmp_path / "audit.yaml"
    assert runner.invoke(cli, ["init", str(target)]).exit_code == 0
    assert load_config(target).data.dataset == "digits"
    again = runner.invoke(cli, ["init", str(target)])
    assert again.exit_code != 0 and "--force" in again.output


def test_the_files_own_problems_come_first_and_the_plugins_params_once_they_are_fixed(write_config):
    """Two tiers: the schema's problems alone (no plugin imported), then the plugins' parameters."""
    config = {"seed": -1, "unlearner": {"name": "finetune", "params": {"lr": "fast"}}}
    assert set(problems(write_config(config))) == {"seed"}
    config["seed"] = 0
    assert set(problems(write_config(config))) == {"unlearner.params.lr"}


def test_a_config_error_in_the_file_imports_neither_torch_nor_a_plugin(write_config):
    """A misspelt key, a wrong type or an unknown method name is found before torch is imported (fast)."""
    import subprocess
    import sys

    from tests.helpers import REPO

    path = write_config(
        "data:\n  datset: digits\nmodel: {arch: mlp}\nunlearner: {name: finetun, params: {epochs: 3}}\n"
        "attacks: [{name: lira, params: {shadows: 16}}]\ngates: {controls: [head_bias]}\n"
    )
    code = (
        "import sys\n"
        "from auditor.config import load_config\n"
        "from auditor.errors import ConfigError\n"
        f"try:\n    load_config({str(path)!r})\nexcept ConfigError as exc:\n    print(sorted(p.path for p in exc.problems))\n"
        "print(sorted(m for m in ('torch', 'numpy', 'attacks', 'unlearners') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    found, imported = done.stdout.strip().splitlines()
    assert found == "['data.datset', 'unlearner.name']", done.stderr
    assert imported == "[]"


def test_engine_names_are_checked_once_the_schema_passes(write_config):
    found = problems(write_config({"model": {"arch": "mpl"}, "gates": {"controls": ["head_bias", "nope"]}}))
    assert "Did you mean 'mlp'" in found["model.arch"].message
    assert "nope" in found["gates.controls"].message


def test_a_fail_only_check_that_could_never_fail_is_refused(write_config):
    """distinguishability with too few runs: its ceiling is below the tolerance (statistics review C2)."""
    found = problems(write_config({"attacks": [{"name": "distinguishability", "params": {"runs": 8}}]}))
    ((key, problem),) = [(k, p) for k, p in found.items() if k.startswith("attacks.0.params")]
    assert "could never fail" in problem.message and "runs >= 15" in problem.message


# --------------------------------------------------------------------------------------------------
# The plugins' requirements (attacks' ``requires`` / ``forget_kinds``, the method's ``check``)

FORGET = {
    "class": {"kind": "class", "classes": [3]},
    "random": {"kind": "random", "fraction": 0.1},
    "indices": {"kind": "indices", "path": "forget.txt"},
    "backdoor": {"kind": "backdoor", "fraction": 0.05, "target": 0},
}


def _needs(cls):
    return cls.requires


def _home_kind(cls) -> str:
    """A forget kind under which every need of the attack is met."""
    from attacks.base import Need

    allowed = [k for k in FORGET_KINDS if k in cls.forget_kinds]
    return "backdoor" if Need.TRIGGER in _needs(cls) else allowed[0]


def _demanding_attacks() -> list[str]:
    """Every registered attack whose requires or forget_kinds the config can leave unmet."""
    from attacks import ATTACKS
    from attacks.base import Need

    return [
        name
        for name in ATTACKS.names()
        if _needs(ATTACKS.get(name)) & (Need.METHOD | Need.TRIGGER)
        or ATTACKS.get(name).forget_kinds != frozenset(FORGET_KINDS)
    ]


def _unmet() -> list:
    """(attack, forget kind, audit a checkpoint, words of the refusal) for each way to leave a need unmet."""
    from attacks import ATTACKS
    from attacks.base import Need

    cases = []
    for name in _demanding_attacks():
        cls = ATTACKS.get(name)
        if Need.METHOD in _needs(cls):
            cases.append(
                pytest.param(name, _home_kind(cls), True, "needs unlearner.name", id=f"{name}-checkpoint")
            )
        for kind in FORGET_KINDS:
            if kind not in cls.forget_kinds:
                words = f"needs forget.kind {', '.join(repr(k) for k in sorted(cls.forget_kinds))}"
                words = words if len(cls.forget_kinds) == 1 else "needs forget.kind"
                cases.append(pytest.param(name, kind, False, words, id=f"{name}-{kind}"))
            elif Need.TRIGGER in _needs(cls) and kind != "backdoor":
                cases.append(pytest.param(name, kind, False, "backdoor trigger", id=f"{name}-{kind}-trigger"))
    return cases


def _requirement_config(write_config, attack: str, kind: str, *, checkpoint: bool):
    unlearner = {"checkpoint": "unlearned.pt"} if checkpoint else {"name": "noop"}
    return write_config({"forget": FORGET[kind], "unlearner": unlearner, "attacks": [{"name": attack}]})


def test_the_attacks_that_need_something_are_found():
    assert {"backdoor", "ulira", "differencing", "distinguishability"} <= set(_demanding_attacks())
    assert len(_unmet()) >= 6  # backdoor under 3 other kinds, 3 method re-runners under a checkpoint


@pytest.mark.parametrize(("attack", "kind", "checkpoint", "words"), _unmet())
def test_an_attack_whose_need_is_unmet_is_refused_by_config_validate(
    write_config, attack, kind, checkpoint, words
):
    path = _requirement_config(write_config, attack, kind, checkpoint=checkpoint)
    result = CliRunner().invoke(cli, ["config", "validate", str(path)])
    assert result.exit_code == 2, result.output
    line = next(x for x in result.output.splitlines() if "attacks.0.name" in x)
    assert f"attack {attack!r}" in line and words in line and "line " in line


@pytest.mark.parametrize("attack", _demanding_attacks())
def test_the_same_attack_with_its_needs_met_validates(write_config, attack):
    from attacks import ATTACKS

    path = _requirement_config(write_config, attack, _home_kind(ATTACKS.get(attack)), checkpoint=False)
    result = CliRunner().invoke(cli, ["config", "validate", str(path)])
    assert result.exit_code == 0, result.output


def test_the_requirement_message_names_the_key_the_need_and_the_audit(write_config):
    found = problems(write_config({"attacks": [{"name": "accuracy"}, {"name": "backdoor"}]}))
    assert found["attacks.1.name"].message == (
        "attack 'backdoor' needs forget.kind 'backdoor'; this audit forgets by 'class': remove the attack, "
        "or change forget.kind"
    )
    assert "attacks.0.name" not in found


class _MethodOnly(Attack):
    """A third-party attack that re-runs the method (``requires = Need.METHOD``)."""

    name = "method_only"
    title = summary = citation = threat_model = "test double"
    requires = Need.METHOD

    def metric_keys(self, forget_kind):
        return ["legacy.x"]

    def default_gates(self, forget_kind):
        return {}

    def measure(self, ctx):
        raise NotImplementedError


class _TriggerOnly(_MethodOnly):
    """Needs the trigger but lists every forget kind: refused for the trigger, not the kind."""

    name = "trigger_only"
    requires = Need.TRIGGER


@pytest.mark.parametrize(
    ("cls", "section", "words"),
    [
        (_MethodOnly, {"unlearner": {"checkpoint": "u.pt"}}, "needs unlearner.name"),
        (
            _TriggerOnly,
            {"forget": FORGET["random"]},
            "reads the backdoor trigger, which only forget.kind 'backdoor'",
        ),
    ],
)
def test_requirements_of_a_registered_third_party_attack(write_config, cls, section, words):
    ATTACKS.register(cls.name, cls)
    try:
        found = problems(write_config({**section, "attacks": [{"name": cls.name}]}))
        assert words in found["attacks.0.name"].message
        assert load_config(write_config({"forget": FORGET["backdoor"], "attacks": [{"name": cls.name}]}))
    finally:
        ATTACKS.unregister(cls.name)


class _Picky(NaNUnlearner):
    """A method that objects to every request, and remembers the last one."""

    name = "picky"
    seen: list = []

    def check(self, request):
        _Picky.seen.append(request)
        return [
            f"forgets at most 1 % of the training set; this request forgets {request.forget_fraction:.0%}"
        ]


def test_the_methods_own_check_runs_in_preflight_under_unlearner_params(write_config, tmp_path):
    UNLEARNERS.register("picky", _Picky)
    try:
        path = write_config(
            {"forget": FORGET["class"], "unlearner": {"name": "picky"}, "report": {"out": "out"}}
        )
        assert (
            CliRunner().invoke(cli, ["config", "validate", str(path)]).exit_code == 0
        )  # no data: no request yet
        result = CliRunner().invoke(cli, ["config", "validate", "--data", str(path)])
    finally:
        UNLEARNERS.unregister("picky")
    assert result.exit_code == 2, result.output
    assert (
        "unlearner.params: forgets at most 1 % of the training set; this request forgets 10%" in result.output
    )
    request = _Picky.seen[-1]
    assert request.forget_kind == "class" and request.num_classes == 10 and request.forget_classes == (3,)


def test_the_schema_alone_takes_plugin_names_as_plain_strings():
    data = {
        "model": {"arch": "nope"},
        "unlearner": {"name": "nope"},
        "attacks": [{"name": "nope"}],
        "gates": {"controls": ["nope"]},
    }
    assert AuditConfig.model_validate(data).unlearner.name == "nope"  # the schema knows no registry
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert {p.path for p in info.value.problems} == {"unlearner.name", "attacks.0.name"}  # the schema's pass
    with pytest.raises(ConfigError) as info:
        parse_config({**data, "unlearner": {"name": "noop"}, "attacks": [{"name": "accuracy"}]})
    assert {p.path for p in info.value.problems} == {"model.arch", "gates.controls"}  # the engine's lists


def test_the_config_digest_is_the_sha256_of_its_canonical_json():
    import hashlib

    from auditor.canonical import canonical_json
    from auditor.evidence import sign as signing

    assert canonical_json({"b": 1, "a": [1.0, "é", None]}) == '{"a":[1.0,"é",null],"b":1}'.encode()
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    cfg = AuditConfig()
    assert cfg.digest() == hashlib.sha256(canonical_json(cfg.model_dump(mode="json"))).hexdigest()
    assert signing.canonical is canonical_json  # one encoding for the signature and the caches
