"""``python -m auditor`` is the same as the ``unlearn-audit`` command."""

from auditor.cli import main

main()
