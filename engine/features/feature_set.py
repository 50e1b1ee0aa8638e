"""FeatureSet: the names, definition version and parameters that a model was trained on.

A model records its feature set id; at load time it is compared with the
running FeatureFactory's id, and a model refuses to run on any other set
(different names, order, parameters or definitions) instead of silently
reading the wrong columns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.core.errors import DataError


class FeatureSetMismatch(DataError):
    """A model was trained on a different feature set than the one offered to it."""


@dataclass(frozen=True, slots=True)
class FeatureSet:
    """Names (in column order), definition version and parameters of a feature set."""

    names: tuple[str, ...]
    version: int
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """Stable 16-hex-digit hash of names, version and parameters."""
        payload = json.dumps(
            {"names": list(self.names), "version": self.version, "params": self.params},
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (stored next to a model)."""
        return {
            "id": self.id,
            "names": list(self.names),
            "version": self.version,
            "params": dict(self.params),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSet:
        """Rebuild from ``to_dict`` output; raise ``FeatureSetMismatch`` if its id does not match."""
        try:
            fs = cls(tuple(data["names"]), int(data["version"]), dict(data.get("params", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise FeatureSetMismatch(f"malformed feature set description: {exc}") from None
        recorded = data.get("id")
        if recorded is not None and recorded != fs.id:
            raise FeatureSetMismatch(f"feature set description altered: id {recorded} != {fs.id}")
        return fs

    def require(self, feature_set_id: str, names: Sequence[str] | None = None) -> None:
        """Raise ``FeatureSetMismatch`` unless ``feature_set_id`` is this set's id.

        ``names`` (the model's recorded names), when given, make the message
        say which features differ.
        """
        if feature_set_id == self.id:
            return
        detail = ""
        if names is not None:
            missing = [n for n in names if n not in self.names]
            extra = [n for n in self.names if n not in set(names)]
            detail = f"; missing here: {missing}; computed here but unknown to the model: {extra}"
            if not missing and not extra:
                detail = "; same names, but order, parameters or definitions differ"
        raise FeatureSetMismatch(
            f"model trained on feature set {feature_set_id}, this engine computes {self.id} "
            f"(version {self.version}){detail}"
        )
