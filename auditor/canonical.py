"""Canonical JSON: the one byte encoding every digest in the tool is taken over.

Model-cache keys (:func:`auditor.train.cache.cache_key`), the config digest, the evidence's
``config_sha256`` and the signed in-toto statement (:mod:`auditor.evidence.sign`, checked again by
:mod:`auditor.evidence.verify`) all hash these bytes, so changing the encoding changes every cache key and
breaks every signature: keep it byte for byte.
"""

from __future__ import annotations

import json
from typing import Any


def canonical_json(obj: Any) -> bytes:
    """``obj`` as canonical JSON: sorted keys, compact separators, UTF-8, NaN and infinity refused.

    Args:
        obj: Plain JSON values (mappings with string keys, lists, strings, numbers, booleans, None).

    Returns:
        The UTF-8 bytes (non-ASCII characters are written as themselves, not escaped).

    Raises:
        ValueError: ``obj`` holds NaN or infinity.
        TypeError: ``obj`` holds a value JSON cannot represent.
    """
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()
