"""The statistics and the verdict: pure functions from per-sample scores to gates and claims."""
