"""The error tree. Every error a user can cause says what went wrong and how to fix it.

Exit codes follow DESIGN.md: 2 for usage or configuration errors, 3 when the audit could not
complete. Verdict exit codes (0 pass, 1 fail or inconclusive) are not errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import click


@dataclass(frozen=True)
class Problem:
    """One problem with the user's input, located by its dotted key path.

    Attributes:
        path: Dotted key path in the config, e.g. ``forget.classes`` (empty for the whole file).
        message: What is wrong and how to fix it.
        line: 1-based line in the YAML file, when known.
    """

    path: str
    message: str
    line: int | None = None

    def render(self) -> str:
        """One line: the key path, the YAML line and the message (control characters in a key shown escaped)."""
        where = _printable(self.path) or "(config)"
        line = f" (line {self.line})" if self.line else ""
        return f"{where}{line}: {self.message}"


def _printable(text: str) -> str:
    """``text`` with control characters (a newline inside a YAML key) written as escapes, so a problem stays one line."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


class AuditError(click.ClickException):
    """Root of the tool's errors; carries its process exit code."""

    exit_code = 3


class ConfigError(AuditError, ValueError):
    """Raised when the config (or input it points to) is invalid; lists every problem at once."""

    exit_code = 2

    def __init__(self, problems: list[Problem], *, source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        count = len(self.problems)
        lines = [f"{head}{count} problem{'s' if count != 1 else ''} in the configuration:"]
        lines += [f"  - {p.render()}" for p in self.problems]
        super().__init__("\n".join(lines))


class PluginNotFoundError(AuditError, KeyError):
    """Raised by a registry when a name is unknown; the message lists the close matches."""

    exit_code = 2

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.message


class AuditFailedError(AuditError, RuntimeError):
    """Raised when the audit cannot complete (a component crashed or produced unusable output)."""

    exit_code = 3


class OutputError(AuditError, OSError):
    """Raised when outputs cannot be written; nothing half-written is left behind."""

    exit_code = 3
