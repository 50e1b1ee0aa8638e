"""Domain types: enums, market data, orders, events and commands (all immutable).

They are frozen ``msgspec.Struct`` classes: dataclass-like (typed fields,
defaults, keyword or positional construction, ``msgspec.structs.replace``)
and about twenty times cheaper to construct than frozen dataclasses, which
matters on the order path where every report builds several of them.
"""
