"""Utility, representation and behavioural checks (accuracy, distance, probe, relearn, backdoor)."""
