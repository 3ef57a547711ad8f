"""One audit, from a validated config to staged outputs: preflight, context, pipeline, controls, API."""
