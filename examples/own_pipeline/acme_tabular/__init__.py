"""acme_tabular: a stand-in for a team's own training code, audited by unlearn-audit.

Nothing here comes from unlearn-audit: the data loader, the model and the training loop are the
team's own. ``audit.yaml`` beside this package names them (``data.dataset``, ``model.arch``,
``training.function``), and ``audit.py`` runs the same audit from Python.
"""
