"""A team's own package: a customer table with record IDs, an MLP and a training loop (not unlearn-audit's)."""
