"""The three user threads the project was born from (see shared/seeds/)."""

import sympy as sp

from surrogate import Relation

__all__ = ["paraboloid", "seed001", "cosexp"]

x, y, z = sp.symbols("x y z", nonnegative=True)

#: Seed 000 ("Pytorch Neural Network that tries to approximate z = x^2 + y^2 not
#: converging"): x and y are `np.random.random`, i.e. uniform on [0, 1).  The
#: relative error near the origin is the hard part, so verify it with atol=1e-2.
paraboloid = Relation(
    sp.Eq(z, x**2 + y**2),
    bounds={x: (0, 1), y: (0, 1)},
    name="paraboloid",
)

x1, x2, x3, x4, x5, y1 = sp.symbols("x1:6 y", positive=True)

#: Seed 001 ("Neural Net not able to learn simple analytical equation"), with the
#: bounds as its text states them: 500 <= x1 <= 1000, 1 <= x2 <= x1,
#: 1000 <= x3 <= 50000, 1e-6 <= x4 <= 1e-3, 1 <= x5 <= 10000.  (The thread's
#: `get_batch` swaps the ranges of x3 and x5 and stops x2 at x1 - 1; the text is
#: taken as the intent.)  The output changes sign inside the domain, so errors are
#: normalised by the term scale |x5/x2| + |(x1-x2)/(2 x3 x4) x2/x1|.
seed001 = Relation(
    sp.Eq(y1, x5 / x2 - (x1 - x2) / (2 * x3 * x4) * x2 / x1),
    bounds={x1: (500, 1000), x2: (1, x1), x3: (1000, 50000), x4: (1e-6, 1e-3), x5: (1, 10000)},
    name="seed001",
)

a, b, u1, u2, out = sp.symbols("a b x1 x2 y", real=True)

#: Seed 002 ("Applying gradient descent to a function using Pytorch"): find a and b
#: in y = cos(a x1) + exp(b x2) from samples (true values a = 0.583, b = 0.112).
#: With x1 ~ N(0, 500) the loss in a has many shallow local minima; x1 is bounded
#: to +-3000 (six standard deviations) and x2 to [-1, 1].
cosexp = Relation(
    sp.Eq(out, sp.cos(a * u1) + sp.exp(b * u2)),
    bounds={u1: (-3000, 3000), u2: (-1, 1)},
    parameters={a: (0, 2), b: (0, 1)},
    name="cosexp",
)
