"""The plugin registries: register, replace, unregister, entry points and ``package.module:Class``."""

from __future__ import annotations

from importlib import metadata

import pytest

from attacks import ATTACKS
from auditor.errors import PluginNotFoundError
from auditor.registry import Registry
from tests.plugins import NaNUnlearner
from unlearners import UNLEARNERS
from unlearners.base import Unlearner

GROUP = "unlearn_audit.tests.widgets"


class Widget:
    """The base class of the test registry's plugins."""


class Alpha(Widget):
    pass


class Beta(Widget):
    pass


def _registry(base: type, points: list[metadata.EntryPoint]) -> Registry:
    """A registry of its own whose entry-point group declares ``points``.

    The registry's cache of its group is set directly: patching ``importlib.metadata`` would also
    reach the real registries if they had not read their groups yet.
    """
    reg = Registry(base.__name__.lower(), GROUP, base)
    reg._entry_points = {p.name: p for p in points}
    return reg


@pytest.fixture
def widgets() -> Registry[Widget]:
    """A registry of its own, whose entry-point group declares nothing."""
    return _registry(Widget, [])


def test_register_get_and_unregister(widgets):
    assert widgets.register("alpha", Alpha) is Alpha  # usable as a decorator's return value
    assert widgets.get("alpha") is Alpha and widgets.names() == ["alpha"]
    widgets.unregister("alpha")
    assert widgets.names() == []
    with pytest.raises(PluginNotFoundError):
        widgets.get("alpha")
    widgets.unregister("alpha")  # removing an absent name is not an error


def test_a_duplicate_name_is_refused_unless_forced(widgets):
    widgets.register("alpha", Alpha)
    with pytest.raises(
        ValueError, match=r"widget 'alpha' is already registered; pass force=True to replace it"
    ):
        widgets.register("alpha", Beta)
    assert widgets.get("alpha") is Alpha
    assert widgets.register("alpha", Beta, force=True) is Beta
    assert widgets.get("alpha") is Beta


def test_a_built_in_name_is_taken_by_its_entry_point():
    class Impostor(NaNUnlearner):
        name = "finetune"

    with pytest.raises(ValueError, match="'finetune' is already registered"):
        UNLEARNERS.register("finetune", Impostor)
    assert UNLEARNERS.get("finetune") is not Impostor


def test_only_subclasses_of_the_base_register(widgets):
    with pytest.raises(PluginNotFoundError, match=r"not a subclass of tests\.test_registry\.Widget") as info:
        widgets.register("int", int)  # type: ignore[arg-type]
    assert info.value.exit_code == 2
    assert "int" not in widgets.names()


def test_an_unknown_name_lists_the_close_matches(widgets):
    widgets.register("alpha", Alpha)
    widgets.register("beta", Beta)
    with pytest.raises(PluginNotFoundError) as info:
        widgets.get("alpah")
    assert str(info.value) == (
        "unknown widget 'alpah'. Did you mean 'alpha'? Known: alpha, beta; or give 'package.module:Class'."
    )
    assert info.value.exit_code == 2
    with pytest.raises(PluginNotFoundError) as info:
        widgets.get("zzz")
    assert "Did you mean" not in str(info.value) and "Known: alpha, beta" in str(info.value)
    with pytest.raises(PluginNotFoundError, match="Did you mean 'finetune'"):
        UNLEARNERS.get("finetun")
    with pytest.raises(PluginNotFoundError, match="Did you mean 'lira' or 'ulira'"):
        ATTACKS.get("lirra")


def test_entry_points_are_listed_then_loaded_when_asked_for_and_checked():
    loads: list[str] = []

    class Counted(metadata.EntryPoint):
        def load(self):  # counts the imports the registry asks for
            loads.append(self.name)
            return super().load()

    methods: Registry[Unlearner] = _registry(
        Unlearner,
        [
            Counted(name="nan", value="tests.plugins:NaNUnlearner", group=GROUP),
            Counted(name="factory", value="tests.plugins:tiny_linear", group=GROUP),
        ],
    )
    assert methods.names() == ["factory", "nan"]
    assert loads == []  # listing imports nothing
    assert methods.get("nan") is NaNUnlearner and methods.get("nan") is NaNUnlearner
    assert loads == ["nan"]  # loaded once, when asked for, then kept
    with pytest.raises(PluginNotFoundError, match="'factory' resolves to .*not a subclass"):
        methods.get("factory")
    with pytest.raises(ValueError, match="already registered"):
        methods.register("nan", NaNUnlearner)


def test_package_module_class_names_import_a_class_without_registering_it():
    assert UNLEARNERS.get("tests.plugins:NaNUnlearner") is NaNUnlearner
    assert "tests.plugins:NaNUnlearner" not in UNLEARNERS.names()
    with pytest.raises(PluginNotFoundError, match=r"cannot import unlearner 'tests\.nowhere:X'"):
        UNLEARNERS.get("tests.nowhere:X")
    with pytest.raises(PluginNotFoundError, match="has no attribute 'Missing'"):
        UNLEARNERS.get("tests.plugins:Missing")
    with pytest.raises(PluginNotFoundError, match="not a subclass"):
        UNLEARNERS.get("tests.plugins:tiny_linear")


@pytest.mark.parametrize("plugins", [UNLEARNERS, ATTACKS], ids=lambda r: r.kind)
def test_every_built_in_loads_under_its_own_name(plugins):
    names = plugins.names()
    assert names, f"no {plugins.kind} declared in the {plugins.group} entry-point group"
    for name in names:
        cls = plugins.get(name)
        assert issubclass(cls, plugins.base) and cls.name == name
