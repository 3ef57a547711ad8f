"""The ``unlearn-audit`` command line.

The click group and its commands are in :mod:`auditor.cli.commands`; the starter config that
``unlearn-audit init`` writes is in :mod:`auditor.cli.init_template`.
"""
