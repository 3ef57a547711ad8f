"""Datasets: the built-in registry, on-disk formats, user loaders, splits and backdoor triggers."""
