"""Attacks that compare many runs of the unlearning method with many retrains."""
