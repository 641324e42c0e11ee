"""A user's own module of relations, for tests/test_build.py: five cheap ones of one or two
inputs that `surrogate build` builds (its __all__), one it must leave out, and a budget of its own
for one of them (BUILD)."""

import sympy as sp

from surrogate import Relation

__all__ = ["square", "ratio", "exp_decay", "product", "cube"]

x, z, y = sp.symbols("x z y", positive=True)

square = Relation(sp.Eq(y, x**2 + 1), bounds={x: (0.5, 2)}, name="square")
ratio = Relation(sp.Eq(y, x / (1 + z)), bounds={x: (1, 3), z: (0.5, 2)}, name="ratio")
exp_decay = Relation(sp.Eq(y, sp.exp(-x) + 1), bounds={x: (0, 2)}, name="exp_decay")
product = Relation(sp.Eq(y, x * z + x), bounds={x: (1, 2), z: (0.5, 3)}, name="product")
cube = Relation(sp.Eq(y, x**3 + 2), bounds={x: (0.5, 1.5)}, name="cube")
#: not in __all__: the build leaves it out
left_out = Relation(sp.Eq(y, x + 3), bounds={x: (1, 2)}, name="left_out")

#: cube's own budget: more steps and another seed than the command's defaults
BUILD = {"cube": {"steps": 40, "seed": 1}}
