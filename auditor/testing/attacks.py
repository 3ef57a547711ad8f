"""The attack checks: one :class:`~auditor.testing.common.Check` at a time, or all with :func:`check_attack`."""

from __future__ import annotations

import atexit
import math
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel

from attacks.base import Attack, Figure, Measurement, MetricResult, Need, Table
from auditor.data.triggers import Trigger
from auditor.judge.verdict import CATEGORIES
from auditor.plugin.context import AuditContext, MethodRunner, MissingCapabilityError
from auditor.testing.common import (
    Check,
    _check_forget_kinds,
    _check_json,
    _check_name,
    _check_params_class,
    _check_text_attrs,
    _fail,
    _first_difference,
    _global_rng,
    _resolve_params,
)
from auditor.testing.world import (
    CHEAP_CONTROLS,
    FIGURE_KINDS,
    TinyWorld,
    tiny_audit_context,
    tiny_setup,
)
from auditor.train.architectures import state_digest
from auditor.train.shadows import ShadowStore


class _Watched:
    """Forwards every attribute to the object it wraps and records that one was read."""

    def __init__(self, target: object) -> None:
        self._target = target
        self.used = False

    def __getattr__(self, name: str) -> Any:
        self.used = True
        return getattr(self._target, name)


@dataclass
class _Run:
    """One measurement of an attack, and what the kit gave it."""

    ctx: AuditContext
    measurement: Measurement
    record: dict[str, Any]
    watched: dict[Need, _Watched]


def attack_checks(
    cls: type[Attack[Any]],
    *,
    params: BaseModel | Mapping[str, Any] | None = None,
    forget_kind: str = "class",
    method: MethodRunner | None = None,
) -> list[Check]:
    """Each check of an attack's contract, one at a time (a pytest id per check).

    In order: ``declarations``, ``params`` (JSON), ``gates`` (metric keys and default gates for
    every forget kind), ``measures`` (a measurement on a context that provides exactly what
    ``requires`` declares succeeds), ``keys``, ``roles``, ``needs``, ``shapes``, ``json`` and
    ``deterministic`` (a second run under other global seeds gives the same record); see
    :func:`check_attack` for what each holds. The attack is measured at most twice, for whichever
    checks need it first.
    """
    what = f"attack {getattr(cls, 'name', cls.__name__)!r} ({cls.__module__}.{cls.__qualname__})"
    runs = _AttackRuns(cls, params, forget_kind, method, what)

    def gates() -> None:
        for kind in sorted(cls.forget_kinds):
            _check_keys_and_gates(runs.attack(), kind, what)

    def json_parts() -> None:
        for part in ("metrics", "tables", "details", "figures"):
            _check_json(what, runs.first().record[part], f"measure().{part}")

    return [
        Check("declarations", lambda: _check_attack_declarations(cls, what)),
        Check(
            "params",
            lambda: _check_json(
                what, runs.attack().params.model_dump(mode="json"), "params.model_dump(mode='json')"
            ),
        ),
        Check("gates", gates),
        Check("measures", runs.measures),
        Check("keys", lambda: _check_reported_keys(runs.attack(), runs.first(), what)),
        Check("roles", lambda: _check_roles(runs.first(), what)),
        Check("needs", lambda: _check_needs_read(runs.first(), what)),
        Check("shapes", lambda: _check_shapes(runs.first().measurement, what)),
        Check("json", json_parts),
        Check("deterministic", runs.check_deterministic),
    ]


def check_attack(
    cls: type[Attack[Any]],
    *,
    params: BaseModel | Mapping[str, Any] | None = None,
    forget_kind: str = "class",
    method: MethodRunner | None = None,
) -> None:
    """Check that an attack keeps the contract the audit relies on.

    Declarations: ``name``, ``title``, ``summary``, ``citation``, ``threat_model`` and a pydantic
    ``Params`` with defaults; ``forget_kinds`` a subset of the four kinds (only ``backdoor`` when it
    requires the trigger); ``default_category`` and every metric's ``category`` among utility,
    forgetting, privacy and recoverability; every metric key prefixed ``<name>.``; ``default_gates``
    naming only metric keys. Measurement, on a context that provides exactly what ``requires``
    declares (no shadow store, method or trigger otherwise): it succeeds; it reports exactly
    ``metric_keys(kind)``, each on at least the unlearned model and the references and on no role
    the context lacks (the context also holds a deception control); it reads every capability it
    declares; its metrics, tables, details and figures are JSON-serialisable with
    ``allow_nan=False``; it leaves every audited model untouched; and a second run, under other
    global random seeds, gives the same record.

    Args:
        cls: The attack's class.
        params: Its parameters (a ``cls.Params`` or a mapping; None: the defaults). Pass small ones
            (few shadows, runs or steps) to keep the check fast.
        forget_kind: The request to measure; one of ``cls.forget_kinds`` (``backdoor`` for attacks
            that need the trigger).
        method: The method attacks with ``Need.METHOD`` re-run (default: the built-in ``noop``).

    Raises:
        AssertionError: The attack breaks the contract; the message says what to fix.
        ValueError: ``params`` or ``forget_kind`` do not fit the attack.
    """
    for check in attack_checks(cls, params=params, forget_kind=forget_kind, method=method):
        check()


class _AttackRuns:
    """The attack, the kit's world and the attack's two measurements, made once for the checks that need them.

    Each run gets a copy of the world's model cache as it stands, so both find the same shadows
    stored (and record the same trained/cached counts); the first run's new models are kept.
    """

    def __init__(
        self,
        cls: type[Attack[Any]],
        params: BaseModel | Mapping[str, Any] | None,
        kind: str,
        method: MethodRunner | None,
        what: str,
    ) -> None:
        self.cls, self.params, self.kind, self.what = cls, params, kind, what
        self._method = method
        self._attack: Attack[Any] | None = None
        self._runs: dict[int, _Run] = {}
        self._tmp: Path | None = None

    def attack(self) -> Attack[Any]:
        if self._attack is None:
            _check_attack_declarations(self.cls, self.what)
            self._attack = self.cls(_resolve_params(self.cls, self.what, self.params))
        return self._attack

    def _run(self, global_seed: int) -> _Run:
        if global_seed in self._runs:
            return self._runs[global_seed]
        attack = self.attack()
        if self.kind not in self.cls.forget_kinds:
            raise ValueError(
                f"{self.what} measures {sorted(self.cls.forget_kinds)}, not {self.kind!r}; pass forget_kind= "
                "one of them"
            )
        world = tiny_setup(self.kind)
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="unlearn-audit-kit-"))
            atexit.register(shutil.rmtree, self._tmp, ignore_errors=True)
            for name in ("first", "second"):
                shutil.copytree(world.cache_dir, self._tmp / name)
        method = self._method
        if method is None:
            from unlearners.noop import Noop

            # Unlearner declares name as a ClassVar, the protocol as an attribute: the same at run time.
            method = Noop()
        controls = tuple(c for c in CHEAP_CONTROLS if self.kind in _control_kinds(c))[:1]
        cache = self._tmp / ("first" if global_seed == 1 else "second")
        run = _measure(
            self.cls(attack.params),
            world,
            method,
            controls,
            self.what,
            cache_dir=cache,
            global_seed=global_seed,
        )
        if global_seed == 1:
            shutil.copytree(cache, world.cache_dir, dirs_exist_ok=True)
        self._runs[global_seed] = run
        return run

    def first(self) -> _Run:
        return self._run(1)

    def measures(self) -> None:
        """The first measurement succeeds (its errors name what the context lacked)."""
        self._run(1)

    def check_deterministic(self) -> None:
        diff = _first_difference(self.first().record, self._run(2).record, "measure()")
        if diff:
            raise _fail(
                self.what,
                f"is not deterministic: two runs on the same context gave different results ({diff}); draw "
                "every random number from ctx.rng(purpose), ctx.generator(purpose) or ctx.comparer(purpose), "
                "never from torch's, NumPy's or random's global generators",
            )


def _control_kinds(name: str) -> frozenset[str]:
    from unlearners.deceptive import CONTROLS

    return CONTROLS[name].supports if name in CONTROLS else frozenset()


def _check_attack_declarations(cls: type, what: str) -> None:
    """The class attributes: base class, texts, ``Params``, ``requires``, ``forget_kinds``, category."""
    if not (isinstance(cls, type) and issubclass(cls, Attack)):
        raise AssertionError(f"{cls!r} is not a subclass of attacks.base.Attack; subclass it")
    _check_name(cls, what)
    _check_text_attrs(cls, what, ("title", "summary", "citation", "threat_model"))
    _check_params_class(cls, what)
    _check_forget_kinds(getattr(cls, "forget_kinds", None), what, "forget_kinds")
    if not isinstance(cls.requires, Need):
        raise _fail(
            what, f"requires = {cls.requires!r}; declare an attacks.base.Need flag (Need.NONE if nothing)"
        )
    if Need.TRIGGER in cls.requires and cls.forget_kinds != frozenset({"backdoor"}):
        raise _fail(
            what,
            f"requires Need.TRIGGER but forget_kinds = {sorted(cls.forget_kinds)}; only backdoor audits "
            "plant a trigger, so declare forget_kinds = frozenset({'backdoor'})",
        )
    if cls.default_category not in CATEGORIES:
        raise _fail(what, f"default_category {cls.default_category!r} is not one of {', '.join(CATEGORIES)}")


def _check_keys_and_gates(attack: Attack[Any], kind: str, what: str) -> None:
    """``metric_keys``, ``default_gates`` and ``category`` agree for ``kind``."""
    keys = attack.metric_keys(kind)
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise _fail(what, f"metric_keys({kind!r}) returned {keys!r}; return a non-empty list of str")
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise _fail(what, f"metric_keys({kind!r}) lists {dupes} more than once; every key must be unique")
    bad = [k for k in keys if not k.startswith(f"{attack.name}.") or k == f"{attack.name}."]
    if bad:
        raise _fail(
            what,
            f"metric keys {bad} do not start with '{attack.name}.'; prefix every key with the attack's name "
            "so gates and reports can tell attacks apart",
        )
    gates = attack.default_gates(kind)
    if not isinstance(gates, dict):
        raise _fail(
            what, f"default_gates({kind!r}) returned {type(gates).__name__}; return a dict key -> tolerance"
        )
    unknown = sorted(set(gates) - set(keys))
    if unknown:
        raise _fail(
            what, f"default_gates({kind!r}) names {unknown}, which metric_keys({kind!r}) does not report"
        )
    for key, tol in gates.items():
        # 0 only for a fail-only attack: its gate FAILs when the gap is beyond what retraining shows at all
        smallest_ok = tol >= 0 if attack.fail_only else tol > 0
        if (
            isinstance(tol, bool)
            or not isinstance(tol, int | float)
            or not (math.isfinite(tol) and smallest_ok)
        ):
            raise _fail(
                what,
                f"default_gates({kind!r})[{key!r}] = {tol!r}; a tolerance is a finite number > 0 "
                "(or 0 for a fail-only attack)",
            )
    for key in keys:
        category = attack.category(key, kind)
        if category not in CATEGORIES:
            raise _fail(
                what, f"category({key!r}, {kind!r}) = {category!r}, not one of {', '.join(CATEGORIES)}"
            )


def _measure(
    attack: Attack[Any],
    world: TinyWorld,
    method: MethodRunner,
    controls: tuple[str, ...],
    what: str,
    *,
    cache_dir: Path,
    global_seed: int,
) -> _Run:
    """Measure on a context that provides exactly what the attack declares, and check it touched no model."""
    needs = type(attack).requires
    watched: dict[Need, _Watched] = {}
    if Need.SHADOWS in needs:
        watched[Need.SHADOWS] = _Watched(world.shadow_store(cache_dir))
    if Need.METHOD in needs:
        watched[Need.METHOD] = _Watched(method)
    if Need.TRIGGER in needs and world.trigger is not None:
        watched[Need.TRIGGER] = _Watched(world.trigger)
    ctx = tiny_audit_context(world=world, shadows=False, trigger=False, controls=controls)
    ctx.shadows = cast(ShadowStore | None, watched.get(Need.SHADOWS))
    ctx.method = cast(MethodRunner | None, watched.get(Need.METHOD))
    ctx.trigger = cast(Trigger | None, watched.get(Need.TRIGGER))
    before = {(role, i): state_digest(m) for role, ms in ctx.models().items() for i, m in enumerate(ms)}
    try:
        with _global_rng(global_seed):
            m = attack.measure(ctx)
    except Exception as exc:
        raise _fail(what, _measure_failure(exc, needs)) from exc
    for (role, i), digest in before.items():
        if state_digest(ctx.models()[role][i]) != digest:
            raise _fail(
                what,
                f"modified the {role} model's weights (model {i}) during measure(); work on a copy "
                "(copy.deepcopy) of any model it trains or edits",
            )
    if not isinstance(m, Measurement):
        raise _fail(what, f"measure() returned {type(m).__name__}; return an attacks.base.Measurement")
    record = {
        "metrics": [r.as_dict() if isinstance(r, MetricResult) else r for r in m.metrics],
        "tables": [t.as_dict() if isinstance(t, Table) else t for t in m.tables],
        "details": m.details,
        "figures": [f.as_dict() if isinstance(f, Figure) else f for f in m.figures],
    }
    return _Run(ctx, m, record, watched)


def _measure_failure(exc: Exception, needs: Need) -> str:
    """Why ``measure()`` raised, with a hint when it reached for something the context does not provide."""
    missing = [n for n in (Need.SHADOWS, Need.METHOD, Need.TRIGGER) if n not in needs]
    words = {
        Need.SHADOWS: "a shadow store",
        Need.METHOD: "the audited method",
        Need.TRIGGER: "a backdoor trigger",
    }
    given = f"requires = {needs!r}" if needs else "requires = Need.NONE"
    text = f"measure() raised {type(exc).__name__}: {exc}"
    if isinstance(exc, MissingCapabilityError) or (
        isinstance(exc, AttributeError) and "NoneType" in str(exc)
    ):
        return (
            f"{text}. It declares {given}, so the kit's context has no "
            f"{', '.join(words[n] for n in missing) or 'extras'}; declare what it needs in requires "
            "(e.g. requires = Need.SHADOWS | Need.METHOD), so that the config refuses audits that lack it"
        )
    if missing:
        return (
            f"{text}. The context holds exactly what it declares ({given}; no "
            f"{', '.join(words[n] for n in missing)}): if it needs one of them, declare it in requires; "
            "otherwise fix the error"
        )
    return text


def _check_reported_keys(attack: Attack[Any], run: _Run, what: str) -> None:
    """``measure()`` reports exactly ``metric_keys(kind)``, once each, as MetricResults."""
    kind = run.ctx.forget_kind
    metrics = run.measurement.metrics
    wrong = [type(r).__name__ for r in metrics if not isinstance(r, MetricResult)]
    if wrong:
        raise _fail(
            what, f"measure() reported metrics of type {wrong}; build each as an attacks.base.MetricResult"
        )
    reported = [r.key for r in metrics]
    declared = attack.metric_keys(kind)
    if sorted(reported) != sorted(declared):
        twice = sorted({k for k in reported if reported.count(k) > 1})
        raise _fail(
            what,
            f"metric_keys({kind!r}) disagrees with measure(): declared but not reported "
            f"{sorted(set(declared) - set(reported))}, reported but not declared "
            f"{sorted(set(reported) - set(declared))}"
            + (f", reported twice {twice}" if twice else "")
            + "; the gates are built from metric_keys, so it must list exactly what measure() reports",
        )


def _check_roles(run: _Run, what: str) -> None:
    """Every metric is measured on the unlearned model and the references, and on no role the context lacks.

    The original and the deception controls may go unmeasured (the verdict then records the gate as
    without a control), but a role the context does not have is a misspelling.
    """
    roles = set(run.ctx.models())
    for r in run.measurement.metrics:
        measured = set(r.comparison.per_model)
        missing = [role for role in ("unlearned", "reference") if role not in measured]
        if missing:
            raise _fail(
                what,
                f"metric {r.key!r} has no value for {missing}; every metric compares the unlearned model "
                "with the references (auditor.judge.stats.compare_proportions or compare_scores over ctx.models())",
            )
        unknown = sorted(measured - roles)
        if unknown:
            raise _fail(
                what,
                f"metric {r.key!r} reports roles {unknown} that the context does not have "
                f"({', '.join(sorted(roles))}); use the role names of ctx.models()",
            )


def _check_needs_read(run: _Run, what: str) -> None:
    """Every capability the attack declares in ``requires`` was read during ``measure()``."""
    for need, spy in run.watched.items():
        if not spy.used:
            raise _fail(
                what,
                f"declares {need!r} in requires but measure() never read it; drop the flag, or the config "
                "refuses audits that lack it for nothing",
            )


def _check_shapes(m: Measurement, what: str) -> None:
    """Tables and figures have the shapes the report draws."""
    for t in m.tables:
        if not isinstance(t, Table):
            raise _fail(
                what, f"measure() returned a table of type {type(t).__name__}; use attacks.base.Table"
            )
        bad = [i for i, row in enumerate(t.rows) if len(row) != len(t.columns)]
        if bad:
            raise _fail(
                what, f"table {t.title!r}: rows {bad[:5]} do not have {len(t.columns)} cells, one per column"
            )
    for f in m.figures:
        if not isinstance(f, Figure):
            raise _fail(
                what, f"measure() returned a figure of type {type(f).__name__}; use attacks.base.Figure"
            )
        if f.kind not in FIGURE_KINDS:
            raise _fail(
                what, f"figure {f.title!r} has kind {f.kind!r}; the report draws {', '.join(FIGURE_KINDS)}"
            )
        for s in f.series:
            extra = 1 if f.kind == "histogram" else 0
            if len(s.x) != len(s.y) + extra:
                raise _fail(
                    what,
                    f"figure {f.title!r}, series {s.label!r}: {len(s.x)} x values for {len(s.y)} y values; "
                    + (
                        "a histogram's x holds the bin edges, one more than y"
                        if extra
                        else "give one x per y"
                    ),
                )
