"""The evidence's ``data`` record: the dataset, its split, where the split came from, and the request.

Built here, from the loaded data, the splits and the forget request, so the pipeline writes one
line for it. Record IDs never enter it: a request that names records by ID is recorded by how many
IDs it named and a salted digest of the sorted list (:func:`auditor.data.records.ids_record`),
and the forget manifest lists dataset indices (positions in the loaded data, which identify a
person only together with the data, which already holds the IDs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from auditor.data.datasets import LoadedData
from auditor.data.records import ids_record
from auditor.data.splits import Splits, manifest_digest


class ForgetRequest(Protocol):
    """The forget request (the config's ``forget`` section has these attributes)."""

    @property
    def kind(self) -> str: ...

    @property
    def classes(self) -> Sequence[int] | None: ...

    @property
    def fraction(self) -> float | None: ...

    @property
    def by(self) -> str | None: ...


def forget_ids(data: LoadedData, forget: np.ndarray) -> list[str]:
    """The record IDs of the forget set (the list the requester holds, in the data's order)."""
    if data.ids is None:
        raise ValueError("the dataset has no record IDs")
    return [data.ids[i] for i in forget.tolist()]


def data_record(
    data: LoadedData,
    splits: Splits,
    forget: ForgetRequest,
    *,
    trigger: dict[str, Any] | None = None,
    id_salt: bytes | None = None,
) -> dict[str, Any]:
    """The evidence's ``data`` section.

    Args:
        data: The dataset as audited (with a backdoor's trigger planted).
        splits: Its splits.
        forget: The forget request.
        trigger: The backdoor trigger's record, or None.
        id_salt: The salt of the ID digest; required when the request names records by ID.
    """
    counts = {"total": len(data), **splits.counts()}
    unused = len(data) - len(splits.train) - len(splits.test) - len(splits.population) - len(splits.decoys)
    if unused:
        counts["unused"] = int(unused)
    request: dict[str, Any] = {
        "kind": forget.kind,
        "classes": forget.classes,
        "fraction": forget.fraction,
        "trigger": trigger,
        "count": int(len(splits.forget)),
        "manifest_sha256": manifest_digest(splits.forget),
        "manifest_file": "forget_manifest.txt",
    }
    if forget.kind == "indices" and forget.by == "id":
        if id_salt is None:
            raise ValueError("a request by record ID needs the salt of its digest")
        request["ids"] = ids_record(forget_ids(data, splits.forget), id_salt)
    return {
        "dataset": data.name,
        "fingerprint": data.fingerprint,
        "num_classes": data.num_classes,
        "input_shape": list(data.input_shape),
        "split_sha256": splits.digest(),
        "split_source": splits.source,
        "source": data.source,
        "counts": counts,
        "forget": request,
    }
