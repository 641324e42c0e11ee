"""The catalogue: relations engineers meet, each with its bounds and its source.

Each module defines `Relation` objects at module level and lists their names in
`__all__`; `surrogate list` walks every module named in `MODULES`.
"""

MODULES = ("equations.seeds", "equations.implicit")
