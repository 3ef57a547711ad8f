"""The config checks that need the plugins: names, parameters, requirements and gate globs.

This is the only config module that imports the registries (the attacks, the unlearners, the
deception controls, the architectures), and it imports them inside its functions, so
``import auditor.config`` imports neither torch nor a plugin. Each check returns located
:class:`~auditor.errors.Problem` objects; :func:`auditor.config.parse_config` runs them in two
tiers, so that a config error in the file itself (a misspelt key, a wrong type, an unknown method)
comes back in a fraction of a second, before torch and the plugins are imported:

1. :data:`NAME_CHECKS`, passed to the schema's validators, so an unknown method or attack name is
   reported in the schema's pass, at its key and line. They read the registered names from the
   entry-point metadata (and from the registries when those are already imported), never
   importing a plugin; a ``package.module:Class`` name is imported, as it can only be checked so;
2. once the schema passes: :func:`engine_name_problems` (built-in architecture names and
   deception controls, whose lists live in torch modules) and :func:`plugin_problems` (each
   plugin's ``params`` against its own ``Params`` model), then :func:`cross_problems`: the method
   supports the forget kind, the controls apply to it, each attack's needs are met
   (:func:`requirement_problems`) and the gate rules match metrics.

:func:`request_problems` (the method's own :meth:`~unlearners.base.Unlearner.check`) needs the
dataset, so :mod:`auditor.run.preflight` runs it.
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from auditor.config.load import problems_from, yaml_line
from auditor.config.schema import FORGET_KINDS, AuditConfig, NameCheck
from auditor.errors import PluginNotFoundError, Problem
from auditor.registry import Registry, import_callable, suggest

if TYPE_CHECKING:
    from attacks.base import Attack


def _resolves(registry: Registry[Any], name: str) -> None:
    """Raise ``ValueError`` with the registry's message (close matches included) unless ``name`` resolves."""
    try:
        registry.get(name)
    except PluginNotFoundError as exc:
        raise ValueError(exc.message) from None


def _entry_point_names(group: str, package: str, registry: str) -> list[str]:
    """The names registered in ``group``, read without importing a plugin.

    The entry-point metadata lists the installed plugins; names registered at run time
    (``Registry.register``) are added when the plugin package (``package``, holding ``registry``)
    is already imported, which registering requires.
    """
    import sys
    from importlib import metadata

    names = {ep.name for ep in metadata.entry_points(group=group)}
    loaded = sys.modules.get(package)
    if loaded is not None and hasattr(loaded, registry):
        names |= set(getattr(loaded, registry).names())
    return sorted(names)


def _known_name(name: str, *, kind: str, group: str, package: str, registry: str) -> None:
    """Raise ``ValueError`` unless ``name`` is registered (checked by name) or imports as ``package.module:Class``."""
    if ":" in name:
        import importlib

        _resolves(getattr(importlib.import_module(package), registry), name)
        return
    names = _entry_point_names(group, package, registry)
    if name not in names:
        raise ValueError(
            f"unknown {kind} {name!r}.{suggest(name, names)} Known: {', '.join(names)}; or give "
            "'package.module:Class'."
        )


def known_unlearner(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is a registered unlearner or an importable ``package.module:Class``."""
    _known_name(
        name, kind="unlearner", group="unlearn_audit.unlearners", package="unlearners", registry="UNLEARNERS"
    )


def known_attack(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is a registered attack or an importable ``package.module:Class``."""
    _known_name(name, kind="attack", group="unlearn_audit.attacks", package="attacks", registry="ATTACKS")


def importable_architecture(name: str) -> None:
    """Raise ``ValueError`` unless a ``package.module:factory`` architecture imports to a callable.

    Built-in names are checked by :func:`known_architecture` in the second tier (their list lives
    in a torch module).
    """
    if ":" in name:
        import_callable(
            name,
            what="architecture",
            hint="a function that returns a torch.nn.Module (or use one of mlp, resnet18, small_cnn)",
        )


def known_architecture(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is a built-in architecture or imports to a factory."""
    from auditor.train.architectures import ARCHITECTURES

    if ":" not in name and name not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {name!r}.{suggest(name, sorted(ARCHITECTURES))} "
            f"Known: {', '.join(sorted(ARCHITECTURES))}; or give 'package.module:factory'."
        )
    importable_architecture(name)


def known_controls(names: list[str]) -> None:
    """Raise ``ValueError`` naming every entry of ``gates.controls`` that is not a deception control."""
    from unlearners.deceptive import CONTROLS

    unknown = [v for v in names if v not in CONTROLS]
    if unknown:
        raise ValueError(f"unknown control(s) {', '.join(unknown)}: choose from {', '.join(CONTROLS)}")


NAME_CHECKS: dict[str, NameCheck] = {
    "unlearner": known_unlearner,
    "attack": known_attack,
    "architecture": importable_architecture,
}
"""The schema's name checks by kind (the validation context's ``names``; see
:func:`auditor.config.schema._checked_name`). None imports torch or a built-in plugin; the names
whose lists live in torch modules (architectures, controls) are checked by
:func:`engine_name_problems` once the schema passes.
"""


def engine_name_problems(cfg: AuditConfig, tree: yaml.Node | None) -> list[Problem]:
    """``model.arch`` and ``gates.controls`` against the engine's lists (run once the schema passes)."""
    problems = []
    checks: list[tuple[tuple[Any, ...], NameCheck, Any]] = [
        (("model", "arch"), known_architecture, cfg.model.arch)
    ]
    if cfg.gates.controls is not None:
        checks.append((("gates", "controls"), known_controls, cfg.gates.controls))
    for loc, check, value in checks:
        try:
            check(value)
        except ValueError as exc:
            problems.append(Problem(".".join(loc), str(exc), yaml_line(tree, loc)))
    return problems


def plugin_problems(cfg: AuditConfig, tree: yaml.Node | None) -> list[Problem]:
    """Validate each plugin's params against its own schema."""
    raw = {
        "unlearner": {"name": cfg.unlearner.name, "params": cfg.unlearner.params},
        "attacks": [{"name": a.name, "params": a.params} for a in cfg.attacks],
    }
    return raw_plugin_problems(raw, tree)


def raw_plugin_problems(data: dict[str, Any], tree: yaml.Node | None) -> list[Problem]:
    """Validate the params of every plugin entry in a raw mapping whose name resolves."""
    from attacks import ATTACKS
    from unlearners import UNLEARNERS

    def resolve(registry: Registry[Any], entry: Any) -> Any:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            return None
        try:
            return registry.get(entry["name"])
        except PluginNotFoundError:
            return None

    problems: list[Problem] = []
    entries: list[tuple[tuple[Any, ...], Any, Any]] = []
    unlearner = data.get("unlearner")
    method = resolve(UNLEARNERS, unlearner)
    if method is not None and isinstance(unlearner, dict):
        entries.append((("unlearner", "params"), method, unlearner.get("params") or {}))
    attacks = data.get("attacks")
    for i, attack in enumerate(attacks if isinstance(attacks, list) else []):
        plugin = resolve(ATTACKS, attack)
        if plugin is not None:
            entries.append((("attacks", i, "params"), plugin, attack.get("params") or {}))
    for prefix, plugin, params in entries:
        try:
            plugin.Params.model_validate(params)
        except ValidationError as exc:
            problems += problems_from(exc, plugin.Params, prefix=prefix, tree=tree)
    return problems


def cross_problems(cfg: AuditConfig, tree: yaml.Node | None) -> list[Problem]:
    """Checks across sections, run only when every section is valid on its own."""
    from attacks import ATTACKS

    problems = _support_problems(cfg, tree) + _control_problems(cfg, tree)
    for i, attack in enumerate(cfg.attacks):
        problems += requirement_problems(ATTACKS.get(attack.name), cfg, index=i, tree=tree)
    return problems + _gate_rule_problems(cfg, tree)


def _support_problems(cfg: AuditConfig, tree: yaml.Node | None) -> list[Problem]:
    """A problem when the method does not support the forget kind."""
    from unlearners import UNLEARNERS

    if cfg.unlearner.name is None:
        return []
    method = UNLEARNERS.get(cfg.unlearner.name)
    if cfg.forget.kind in method.supports:
        return []
    return [
        Problem(
            "forget.kind",
            f"unlearner {cfg.unlearner.name!r} does not support {cfg.forget.kind!r} forgetting; "
            f"it supports: {', '.join(sorted(method.supports))}",
            yaml_line(tree, ("forget", "kind")),
        )
    ]


def _control_problems(cfg: AuditConfig, tree: yaml.Node | None) -> list[Problem]:
    """A problem for each listed deception control that does not apply to the forget kind."""
    if not cfg.gates.controls:
        return []
    from unlearners.deceptive import CONTROLS

    problems = []
    for i, name in enumerate(cfg.gates.controls):
        if cfg.forget.kind not in CONTROLS[name].supports:
            problems.append(
                Problem(
                    f"gates.controls.{i}",
                    f"control {name!r} does not apply to {cfg.forget.kind!r} forgetting (it applies to: "
                    f"{', '.join(sorted(CONTROLS[name].supports))}); remove it, or leave gates.controls unset to use "
                    "every control that applies",
                    yaml_line(tree, ("gates", "controls", i)),
                )
            )
    return problems


def requirement_problems(
    attack: type[Attack[Any]], cfg: AuditConfig, *, index: int, tree: yaml.Node | None = None
) -> list[Problem]:
    """What the audit lacks for the attack at ``attacks.<index>``, from its ``requires`` and ``forget_kinds``.

    ``Need.METHOD`` is unmet by an audit of an unlearned checkpoint (no method to re-run),
    ``Need.TRIGGER`` by any forget kind but ``backdoor`` (no trigger is planted), and
    ``forget_kinds`` by a forget kind it does not list. ``Need.SHADOWS`` is always met: shadow
    models train with the audit's recipe whatever it audits.

    Args:
        attack: The attack's class.
        cfg: The validated config.
        index: Its position in ``attacks`` (the problems' key is ``attacks.<index>.name``).
        tree: The composed YAML, for line numbers.
    """
    from attacks.base import Need

    name, kind = cfg.attacks[index].name, cfg.forget.kind
    path, line = f"attacks.{index}.name", yaml_line(tree, ("attacks", index, "name"))
    needs = attack.requires
    problems = []
    if Need.METHOD in needs and cfg.unlearner.name is None:
        problems.append(
            Problem(
                path,
                f"attack {name!r} re-runs the unlearning method on shadow models, so it needs unlearner.name; "
                "an audit of an unlearned checkpoint cannot use it",
                line,
            )
        )
    if kind not in attack.forget_kinds:
        wanted = " or ".join(repr(k) for k in FORGET_KINDS if k in attack.forget_kinds)
        problems.append(
            Problem(
                path,
                f"attack {name!r} needs forget.kind {wanted}; this audit forgets by {kind!r}: remove the "
                "attack, or change forget.kind",
                line,
            )
        )
    elif Need.TRIGGER in needs and kind != "backdoor":
        problems.append(
            Problem(
                path,
                f"attack {name!r} reads the backdoor trigger, which only forget.kind 'backdoor' plants; this "
                f"audit forgets by {kind!r}: remove the attack, or change forget.kind",
                line,
            )
        )
    return problems


def _gate_rule_problems(cfg: AuditConfig, tree: yaml.Node | None) -> list[Problem]:
    """A problem for each gate rule whose glob matches no metric of the configured attacks."""
    metrics = all_metric_keys(cfg)  # also without rules: it builds each attack, as the audit will
    return [
        Problem(
            f"gates.rules.{i}.metric",
            f"{rule.metric!r} matches no metric of the configured attacks.{suggest(rule.metric, metrics)} "
            f"Metrics: {', '.join(metrics)}",
            yaml_line(tree, ("gates", "rules", i, "metric")),
        )
        for i, rule in enumerate(cfg.gates.rules or [])
        if not fnmatch.filter(metrics, rule.metric)
    ]


def all_metric_keys(cfg: AuditConfig) -> list[str]:
    """Every metric key the configured attacks will report, for gate validation."""
    from attacks import ATTACKS

    keys: list[str] = []
    for attack in cfg.attacks:
        plugin = ATTACKS.get(attack.name)
        keys += plugin(plugin.Params.model_validate(attack.params)).metric_keys(cfg.forget.kind)
    return keys


def request_problems(cfg: AuditConfig, *, num_classes: int, forget_fraction: float | None) -> list[Problem]:
    """The audited method's objections to the request (:meth:`~unlearners.base.Unlearner.check`).

    Run by :mod:`auditor.run.preflight` once the dataset is loaded and the splits drawn, before any
    training; each objection is a problem under ``unlearner.params``.

    Args:
        cfg: The validated config (an audit of a checkpoint has no method: no problems).
        num_classes: Classes of the dataset.
        forget_fraction: The forget set's share of the training split.
    """
    if cfg.unlearner.name is None:
        return []
    from unlearners import UNLEARNERS
    from unlearners.base import ForgetRequest

    cls = UNLEARNERS.get(cfg.unlearner.name)
    method = cls(cls.Params.model_validate(cfg.unlearner.params))
    request = ForgetRequest(
        forget_kind=cfg.forget.kind,
        num_classes=num_classes,
        forget_classes=tuple(cfg.forget.classes or ()),
        forget_fraction=forget_fraction,
    )
    return [Problem("unlearner.params", message) for message in method.check(request)]
