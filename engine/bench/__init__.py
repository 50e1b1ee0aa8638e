"""Benchmarks behind ``crucible bench NAME`` (each: run(args) -> dict of figures)."""
