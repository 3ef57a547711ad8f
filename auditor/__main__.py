"""``python -m auditor`` is the same as the ``unlearn-audit`` command."""

from auditor.cli.commands import main

main()
