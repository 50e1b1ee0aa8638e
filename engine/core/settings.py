"""Base class for configuration sections: frozen, unknown keys rejected."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FrozenModel(BaseModel):
    """A configuration section (immutable; a typo in a key is an error, not ignored)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
