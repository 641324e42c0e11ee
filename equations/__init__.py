"""The catalogue: relations engineers meet, each with its bounds and its source.

Each module defines `Relation` objects at module level and lists their names in
`__all__`; `surrogate list` walks every module named in `MODULES`.  The modules by
field (convection, external, conduction, exchangers, radiation, pipe_flow) and the systems carry a
`SOURCES` dict, {name: {"source", "validity", "accuracy"}}, for the datasheets.
"""

MODULES = (
    "equations.seeds",
    "equations.implicit",
    "equations.convection",
    "equations.external",
    "equations.conduction",
    "equations.exchangers",
    "equations.radiation",
    "equations.pipe_flow",
    "equations.systems",
)
