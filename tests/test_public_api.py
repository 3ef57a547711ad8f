"""The public API re-exported by ``auditor`` resolves, and importing the package stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import auditor


def test_all_lists_exactly_the_lazy_exports():
    assert set(auditor.__all__) == {"__version__", *auditor._EXPORTS}


@pytest.mark.parametrize("name", sorted(auditor._EXPORTS))
def test_each_public_name_resolves_to_its_module(name):
    value = getattr(auditor, name)
    assert getattr(value, "__module__", "").startswith(auditor._EXPORTS[name]), (name, value)


def test_unknown_names_are_attribute_errors():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        auditor.nope  # noqa: B018


def test_importing_the_package_imports_no_torch():
    code = "import sys, auditor; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
