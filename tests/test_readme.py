"""README's Layout section names every module of the engine and the plugin packages."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENTRY = re.compile(r"^( {0,2})([\w.]+/)\s")


def _folders() -> dict[str, str]:
    """Folder (``auditor/run/``) -> the text of its entry in README's Layout block."""
    text = (REPO / "README.md").read_text()
    block = text[text.index("## Layout") :].split("```")[1]
    folders: dict[str, str] = {}
    top = current = ""
    for line in block.splitlines():
        match = ENTRY.match(line)
        if match:
            indent, name = match.groups()
            if not indent:
                top = name
            current = name if not indent else top + name
            folders[current] = ""
        if current:
            folders[current] += line + "\n"
    return folders


def test_every_module_is_named_in_its_folders_layout_entry():
    folders = _folders()
    missing = []
    for package in ("auditor", "attacks", "unlearners"):
        for path in sorted((REPO / package).rglob("*.py")):
            folder = path.parent.relative_to(REPO).as_posix() + "/"
            if path.stem == "__init__" or (
                package == "unlearners" and path.stem not in ("base", "deceptive")
            ):
                continue  # unlearners/: "one module per method"
            if folder not in folders or not re.search(rf"\b{re.escape(path.stem)}\b", folders[folder]):
                missing.append(path.relative_to(REPO).as_posix())
    assert not missing, f"README's Layout does not name: {missing}"
