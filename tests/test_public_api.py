"""The public API re-exported by ``auditor`` resolves, and importing the package stays cheap."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import auditor


@pytest.mark.parametrize("name", sorted(set(auditor.__all__) - {"__version__"}))
def test_each_public_name_resolves_to_the_engines_object(name):
    value = getattr(auditor, name)
    module = getattr(value, "__module__", "")
    assert module.split(".")[0] in ("auditor", "attacks", "unlearners"), (name, module)
    assert getattr(importlib.import_module(module), name) is value  # the object its module defines


def test_unknown_names_are_attribute_errors():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        auditor.nope  # noqa: B018


def test_importing_the_package_imports_no_torch():
    code = "import sys, auditor; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
