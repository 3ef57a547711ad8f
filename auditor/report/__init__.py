"""Renderings of the evidence: the HTML/PDF report, its plots, and the machine outputs (JUnit, Markdown)."""
