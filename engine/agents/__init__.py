"""Agents and the Arena: forged bundles trading live through the order gateway.

Import the pieces from their modules (``engine.agents.arena``, ...); this
package's ``__init__`` stays empty so that its configuration loads cheaply.
"""
