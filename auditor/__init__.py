"""unlearn-audit: privacy auditing and certification for machine unlearning.

The engine lives here (config, data, models, training, statistics, verdict, evidence, report);
attacks and unlearning methods are plugins in the top-level ``attacks`` and ``unlearners``
packages, registered by name. Importing this package is cheap: torch is imported only by the
modules that need it, so ``unlearn-audit --help`` stays fast.
"""

__version__ = "0.1.0"

from auditor.api import audit, build_config  # noqa: E402  (cheap: imports no torch until called)

__all__ = ["__version__", "audit", "build_config"]
