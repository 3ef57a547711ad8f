"""Signing the evidence (DSSE statement, PAdES) and verifying a signed report."""
