"""Typed identifiers and the client order id generator."""

from __future__ import annotations

import itertools
import os
import re
import uuid
from typing import NewType

Symbol = NewType("Symbol", str)
AgentId = NewType("AgentId", str)
ClientOrderId = NewType("ClientOrderId", str)
VenueOrderId = NewType("VenueOrderId", str)

_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def is_valid_client_order_id(value: str) -> bool:
    """Return True if ``value`` is a legal client order id on the wire."""
    return bool(_CLIENT_ID_RE.match(value))


class ClientOrderIdGenerator:
    """Mints unique client order ids: ``<prefix>-<session>-<counter>``.

    The session part is random per process so that ids never collide with those
    of an earlier run that the executor may still remember.
    """

    def __init__(self, prefix: str = "CR") -> None:
        self._prefix = prefix
        self._session = os.urandom(3).hex()
        self._counter = itertools.count(1)

    def next(self) -> ClientOrderId:
        return ClientOrderId(f"{self._prefix}-{self._session}-{next(self._counter):07d}")


def new_event_id() -> str:
    """A unique id for an event (provenance in logs and the journal)."""
    return uuid.uuid4().hex
