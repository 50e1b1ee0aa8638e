"""Execution: the wire protocol, the link to Cerebellum, the core process, order tracking."""
