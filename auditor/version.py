"""The one version number: ``pyproject.toml`` reads it (hatch), the CLI and the evidence print it."""

__version__ = "0.1.0"
