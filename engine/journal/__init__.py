"""The journal: SQLite (WAL) record of orders, fills, agents, performance, forge runs and risk."""

from engine.journal.writer import Journal

__all__ = ["Journal"]
