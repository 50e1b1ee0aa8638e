"""The exception hierarchy: each class tells the caller what to do about it.

* ``ConfigError``      -> the operator fixes the configuration (exit code 2).
* ``OperationalError`` -> needs operator attention; the engine keeps running fail-closed.
* ``TemporaryError``   -> retry with backoff (the only errors that are retried).
* ``LinkDown``         -> the executor is unreachable; no new orders until it is back.
* ``RiskRejected``     -> a pre-trade check refused an order; nothing was sent.
* ``OrderRejected``    -> the executor or venue refused an order.
* ``AgentError``       -> a fault inside one agent's (possibly evolved) code; the agent is paused.
* ``DataError``        -> input data that cannot be cleaned; the record is rejected, not the process.
"""

from __future__ import annotations


class CrucibleError(Exception):
    """Base class of every error Crucible raises on purpose."""


class ConfigError(CrucibleError):
    """The configuration is invalid; the message names the field and value."""


class OperationalError(CrucibleError):
    """Something needs an operator's attention."""


class TemporaryError(CrucibleError):
    """A transient failure; the caller may retry with backoff."""


class LinkDown(OperationalError):
    """The executor (Cerebellum) is not reachable or has gone silent."""


class RiskRejected(CrucibleError):
    """An order failed a pre-trade risk check in the engine."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class OrderRejected(CrucibleError):
    """The executor rejected a command (its Reject code and reason are kept)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class AgentError(CrucibleError):
    """A fault inside an agent's decision code."""


class DataError(CrucibleError):
    """Input data is malformed beyond repair."""
