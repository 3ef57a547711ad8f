"""unlearn-audit: privacy auditing and certification for machine unlearning.

The engine lives here (config, data, models, training, statistics, verdict, evidence, report);
attacks and unlearning methods are plugins in the top-level ``attacks`` and ``unlearners``
packages, registered by name. Importing this package is cheap: torch is imported only by the
modules that need it, so ``unlearn-audit --help`` stays fast.
"""

from auditor.api import audit, build_config  # noqa: E402  (cheap: imports no torch until called)
from auditor.version import __version__

__all__ = ["__version__", "audit", "build_config"]
