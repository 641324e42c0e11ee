"""SymPy expressions to torch and float64 NumPy functions, from one function table.

A compiled expression is a tree of small closures; nothing is generated as source
text and nothing is `exec`-ed, so compiling an expression read from an artifact is
as safe as reading it.  Constant sub-expressions are folded to Python floats at
compile time; Python floats follow the dtype and device of the arrays they meet,
so a compiled function runs in float32 on CUDA or float64 on the CPU unchanged.

Importing this module does not import torch: the torch backend is resolved when a
torch function is compiled.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy as sp
from sympy.functions.elementary.piecewise import ExprCondPair

from ..errors import UnsupportedExpressionError
from .special import numpy_special, torch_special

__all__ = ["compile_expr", "compile_joint", "derivative", "unsupported_functions", "SUPPORTED_FUNCTIONS"]

# The one function table.  Each entry names a function that torch and NumPy both
# spell the same way, or builds it from such functions.
_SAME_NAME: dict[type, str] = {
    sp.exp: "exp",
    sp.log: "log",
    sp.sin: "sin",
    sp.cos: "cos",
    sp.tan: "tan",
    sp.asin: "arcsin",
    sp.acos: "arccos",
    sp.atan: "arctan",
    sp.sinh: "sinh",
    sp.cosh: "cosh",
    sp.tanh: "tanh",
    sp.asinh: "arcsinh",
    sp.acosh: "arccosh",
    sp.atanh: "arctanh",
    sp.Abs: "abs",
    sp.sign: "sign",
    sp.floor: "floor",
    sp.ceiling: "ceil",
    sp.atan2: "arctan2",
}
_BUILT: dict[type, Callable[..., Any]] = {
    sp.cot: lambda xp, a: 1.0 / xp.tan(a),
    sp.sec: lambda xp, a: 1.0 / xp.cos(a),
    sp.csc: lambda xp, a: 1.0 / xp.sin(a),
    sp.acot: lambda xp, a: xp.arctan(1.0 / a),
    sp.coth: lambda xp, a: 1.0 / xp.tanh(a),
    sp.sech: lambda xp, a: 1.0 / xp.cosh(a),
    sp.csch: lambda xp, a: 1.0 / xp.sinh(a),
}
# Special functions: SymPy class -> the name of one operation that both backends provide,
# the NumPy side from scipy.special (float64 references from a well-kept library) and the
# torch side from torch.special, differentiable (see special.numpy_special and special.torch_special).
_SPECIAL: dict[type, str] = {
    sp.erf: "erf",
    sp.erfc: "erfc",
    sp.erfinv: "erfinv",
    sp.gamma: "gamma",
    sp.loggamma: "loggamma",
    sp.sinc: "sinc",
    sp.LambertW: "lambertw",
    sp.Heaviside: "heaviside",
    sp.Mod: "mod",
}
# Functions whose first argument is an integer order: SymPy class -> {order: operation}.
_ORDERED: dict[type, dict[int, str]] = {
    sp.besselj: {0: "j0", 1: "j1"},
    sp.bessely: {0: "y0", 1: "y1"},
    sp.besseli: {0: "i0", 1: "i1"},
    sp.besselk: {0: "k0", 1: "k1"},
}
_POLYGAMMA_ORDERS = range(0, 21)  # polygamma(n, x) for these n: the derivatives of loggamma
# What to write instead of a function the table lacks (one line each).
_HINTS: dict[str, str] = {
    "besselj": "use the recurrence J(n+1) = 2*n*J(n)/x - J(n-1) from orders 0 and 1",
    "bessely": "use the recurrence Y(n+1) = 2*n*Y(n)/x - Y(n-1) from orders 0 and 1",
    "besseli": "use the recurrence I(n+1) = I(n-1) - 2*n*I(n)/x from orders 0 and 1",
    "besselk": "use the recurrence K(n+1) = K(n-1) + 2*n*K(n)/x from orders 0 and 1",
    "LambertW": "only the principal branch W0 is supported; for the -1 branch solve w*exp(w) = x "
                "as an implicit relation",
    "expint": "no torch translation; write the integral as an implicit relation or a fit to data",
    "Ei": "no torch translation; write the integral as an implicit relation or a fit to data",
    "erfcinv": "write erfinv(1 - x), which loses precision for x near 0",
    "erf2": "write erf(b) - erf(a)",
    "factorial": "write gamma(x + 1)",
    "beta": "write exp(loggamma(a) + loggamma(b) - loggamma(a + b))",
    "re": "the relation is complex-valued here; declare real symbols",
    "im": "the relation is complex-valued here; declare real symbols",
    "arg": "the relation is complex-valued here; declare real symbols",
    "conjugate": "the relation is complex-valued here; declare real symbols",
    "I (imaginary unit)": "the relation is complex-valued here; declare real symbols",
}
_RELATIONAL: dict[type, Callable[[Any, Any], Any]] = {
    sp.StrictLessThan: lambda a, b: a < b,
    sp.LessThan: lambda a, b: a <= b,
    sp.StrictGreaterThan: lambda a, b: a > b,
    sp.GreaterThan: lambda a, b: a >= b,
    sp.Equality: lambda a, b: a == b,
    sp.Unequality: lambda a, b: a != b,
}
_STRUCTURAL = (sp.Add, sp.Mul, sp.Pow, sp.Max, sp.Min, sp.Piecewise, sp.And, sp.Or, sp.Not)

SUPPORTED_FUNCTIONS: tuple[str, ...] = tuple(
    sorted({c.__name__ for c in (*_SAME_NAME, *_BUILT, *_SPECIAL, *_ORDERED, sp.polygamma, *_RELATIONAL, *_STRUCTURAL)})
)

Node = Callable[[Mapping[str, Any]], Any]


def unsupported_functions(expr: sp.Basic) -> list[str]:
    """The functions in `expr` that the compiler cannot translate (sorted), one line each.

    Each entry starts with the function's SymPy name; where there is something to
    write instead, a hint follows in parentheses, e.g. ``"besselj of order 2
    (orders 0 and 1 are supported; use the recurrence ...)"``.
    """
    bad: set[str] = set()
    for node in sp.preorder_traversal(expr):
        if node.is_Symbol or node.is_Number or isinstance(node, sp.NumberSymbol):
            continue
        if isinstance(node, (sp.logic.boolalg.BooleanTrue, sp.logic.boolalg.BooleanFalse)):
            continue
        if node is sp.S.ImaginaryUnit:
            bad.add(_with_hint("I (imaginary unit)"))
            continue
        if isinstance(node, ExprCondPair):
            continue
        cls = type(node)
        if not node.free_symbols and node.is_number and node.is_real is not False:
            continue  # folded to a constant
        if cls in _SAME_NAME or cls in _BUILT or cls in _RELATIONAL or isinstance(node, _STRUCTURAL):
            continue
        if cls in _SPECIAL or cls in _ORDERED or cls is sp.polygamma:
            problem = _special_problem(node)
            if problem:
                bad.add(problem)
            continue
        bad.add(_with_hint(getattr(cls, "__name__", str(cls))))
    return sorted(bad)


def _with_hint(name: str, what: str | None = None) -> str:
    hint = _HINTS.get(name)
    what = what or name
    return f"{what} ({hint})" if hint else what


def _order(node: sp.Basic) -> int | None:
    """The integer order (first argument) of an indexed function, or None if it is not one."""
    n = node.args[0]
    if n.free_symbols or not n.is_number:
        return None
    try:
        v = float(n)
    except TypeError:
        return None
    return int(v) if v == int(v) else None


def _special_problem(node: sp.Basic) -> str | None:
    """Why a node of a table function cannot be translated, or None if it can."""
    cls = type(node)
    name = cls.__name__
    if cls is sp.polygamma:
        n = _order(node)
        if n not in _POLYGAMMA_ORDERS:
            return f"polygamma of order {node.args[0]} (integer orders 0 to {_POLYGAMMA_ORDERS[-1]} are supported)"
        return None
    if cls in _ORDERED:
        orders = _ORDERED[cls]
        n = _order(node)
        if n not in orders:
            shown = node.args[0] if n is None else n
            listed = " and ".join(str(k) for k in orders)
            hint = _HINTS.get(name)
            return f"{name} of order {shown} (orders {listed} are supported" + (f"; {hint})" if hint else ")")
        return None
    if cls is sp.LambertW and len(node.args) > 1:
        return _with_hint(name, f"LambertW branch {node.args[1]}")
    if cls is sp.Heaviside and len(node.args) > 1 and (node.args[1].free_symbols or not node.args[1].is_number):
        return f"Heaviside with value {node.args[1]} at 0 (the value at 0 must be a number)"
    return None


def derivative(expr: sp.Basic, symbol: sp.Symbol) -> sp.Basic:
    """d expr / d symbol, written in the functions the compiler translates.

    `sp.diff` writes the derivative of a Bessel function of order 1 with order 2,
    that of Heaviside, sign, floor or ceiling with DiracDelta or an unevaluated
    Derivative, and leaves Mod's unevaluated.  Here Bessel functions of order 2 and
    more are rewritten by their recurrences in orders 0 and 1, Mod(a, b) is
    differentiated as a - b*floor(a/b), and the derivatives of step functions are
    zero (they are, almost everywhere).
    """
    steps = (sp.floor, sp.ceiling, sp.sign, sp.Heaviside)
    expr = expr.replace(lambda n: isinstance(n, sp.Mod), lambda n: n.args[0] - n.args[1] * sp.floor(n.args[0] / n.args[1]))
    d = sp.diff(expr, symbol)
    d = d.replace(lambda n: isinstance(n, sp.DiracDelta), lambda n: sp.S.Zero)
    d = d.replace(lambda n: isinstance(n, sp.Derivative) and isinstance(n.expr, steps), lambda n: sp.S.Zero)
    d = d.replace(lambda n: isinstance(n, sp.Subs), lambda n: n.doit())
    bessel = tuple(_ORDERED)
    return d.replace(
        lambda n: isinstance(n, bessel) and _order(n) is not None and _order(n) >= 2,
        lambda n: n.expand(func=True),
    )


def _backend(name: str):
    if name == "torch":
        import torch

        return torch
    if name in ("numpy", "longdouble"):
        return np
    raise ValueError(f"backend must be 'torch', 'numpy' or 'longdouble', not {name!r}")


def compile_expr(expr: sp.Basic, backend: str = "torch") -> Callable[[Mapping[str, Any]], Any]:
    """Compile `expr` into `f(values) -> array` for the 'torch' or 'numpy' backend.

    `values` maps every free symbol's name to an array (all of one broadcastable
    shape).  The numpy backend evaluates in float64 and returns NaN (no warning)
    where the formula is undefined.  Raises UnsupportedExpressionError naming the
    functions it cannot translate.
    """
    bad = unsupported_functions(expr)
    if bad:
        raise UnsupportedExpressionError(
            f"cannot compile {expr}: no translation for {', '.join(bad)}; "
            f"supported functions are {', '.join(SUPPORTED_FUNCTIONS)}"
        )
    xp = _backend(backend)
    node = _build(sp.sympify(expr), xp)
    names = sorted(s.name for s in expr.free_symbols)

    if xp is np:

        dtype = np.longdouble if backend == "longdouble" else np.float64  # x87 extended: reference.py

        def run_numpy(values: Mapping[str, Any]) -> np.ndarray:
            env = {k: np.asarray(values[k], dtype=dtype) for k in names}
            with np.errstate(all="ignore"):
                out = node(env)
            return _full(out, env, values, xp)

        return run_numpy

    def run_torch(values: Mapping[str, Any]):
        return _full(node(values), values, values, xp)

    return run_torch


def compile_joint(exprs: list[sp.Basic]) -> Callable[[Mapping[str, Any]], list[np.ndarray]]:
    """Compile several expressions into one NumPy float64 `f(values) -> [array, ...]` that
    evaluates their common subexpressions once (sympy.cse): a residual and its derivatives
    share their logarithms and roots.  The values agree with `compile_expr`'s to rounding
    (the order of operations may differ).  Raises UnsupportedExpressionError as it does."""
    exprs = [sp.sympify(e) for e in exprs]
    for e in exprs:
        bad = unsupported_functions(e)
        if bad:
            raise UnsupportedExpressionError(f"cannot compile {e}: no translation for {', '.join(bad)}")
    taken = {s.name for e in exprs for s in e.free_symbols}
    fresh = (s for s in sp.numbered_symbols("_cse") if s.name not in taken)
    steps, outs = sp.cse(exprs, symbols=fresh, optimizations=None)
    steps = [(s.name, _build(e, np)) for s, e in steps]
    nodes = [_build(e, np) for e in outs]
    names = sorted(taken)

    def run(values: Mapping[str, Any]) -> list[np.ndarray]:
        env = {k: np.asarray(values[k], dtype=np.float64) for k in names}
        like = {k: values[k] for k in names} or values
        with np.errstate(all="ignore"):
            for name, node in steps:
                env[name] = node(env)
            return [_full(node(env), env, like, np) for node in nodes]

    return run


def _full(out, env, values, xp):
    """Broadcast a constant result to the shape of the inputs."""
    if isinstance(out, (float, bool)):
        like = next(iter(env.values()), None) if env else next(iter(values.values()), None)
        if like is None:
            raise ValueError("a constant expression needs at least one input array to take its shape")
        like = like if xp is not np else np.asarray(like, dtype=np.float64)
        return xp.full_like(like, float(out))
    return out


def _const(expr: sp.Basic) -> float | bool:
    if expr is sp.true:
        return True
    if expr is sp.false:
        return False
    value = complex(expr.evalf(30))
    if value.imag != 0.0:
        raise UnsupportedExpressionError(f"constant {expr} is not real ({value})")
    return float(value.real)


def _as_array(value, like, xp):
    return xp.full_like(like, value) if isinstance(value, (float, bool)) else value


def _build(expr: sp.Basic, xp) -> Node:  # noqa: C901 - one dispatch table, read top to bottom
    if not expr.free_symbols:
        c = _const(expr)
        return lambda env: c
    if expr.is_Symbol:
        name = expr.name
        return lambda env: env[name]
    if isinstance(expr, sp.Piecewise):
        return _piecewise(expr, xp)
    kids = [_build(a, xp) for a in expr.args]
    cls = type(expr)

    if isinstance(expr, sp.Add):
        return _fold(kids, lambda a, b: a + b)
    if isinstance(expr, sp.Mul):
        return _fold(kids, lambda a, b: a * b)
    if isinstance(expr, sp.Pow):
        return _power(expr, kids, xp)
    if cls in _SAME_NAME:
        fn = getattr(xp, _SAME_NAME[cls])
        if len(kids) == 1:
            (k,) = kids
            return lambda env: fn(k(env))
        return lambda env: fn(*_arrays([c(env) for c in kids], xp))
    if cls in _BUILT:
        make = _BUILT[cls]
        (k,) = kids
        return lambda env: make(xp, k(env))
    if cls in _SPECIAL or cls in _ORDERED or cls is sp.polygamma:
        return _special(expr, kids, xp)
    if isinstance(expr, (sp.Max, sp.Min)):
        pick = xp.maximum if isinstance(expr, sp.Max) else xp.minimum
        return lambda env: _reduce_arrays([c(env) for c in kids], pick, xp)
    if cls in _RELATIONAL:
        op = _RELATIONAL[cls]
        a, b = kids
        return lambda env: op(a(env), b(env))
    if isinstance(expr, sp.And):
        return _fold(kids, lambda a, b: a & b)
    if isinstance(expr, sp.Or):
        return _fold(kids, lambda a, b: a | b)
    if isinstance(expr, sp.Not):
        (k,) = kids
        return lambda env: ~k(env)
    raise UnsupportedExpressionError(f"no translation for {cls.__name__} in {expr}")


def _special(expr: sp.Basic, kids: list[Node], xp) -> Node:
    """A table function: one operation, found by name in the backend's namespace."""
    cls = type(expr)
    ops = numpy_special() if xp is np else torch_special()
    if cls is sp.polygamma:
        n, k = _order(expr), kids[1]
        fn = ops.polygamma
        return lambda env: fn(n, k(env))
    if cls in _ORDERED:
        fn = getattr(ops, _ORDERED[cls][_order(expr)])
        k = kids[1]
        return lambda env: fn(k(env))
    fn = getattr(ops, _SPECIAL[cls])
    if cls is sp.Heaviside:
        h0 = _const(expr.args[1]) if len(expr.args) > 1 else 0.5
        k = kids[0]
        return lambda env: fn(k(env), h0)
    if len(kids) == 1:
        (k,) = kids
        return lambda env: fn(k(env))
    return lambda env: fn(*_arrays([c(env) for c in kids], xp))


def _fold(kids: list[Node], op) -> Node:
    first, rest = kids[0], kids[1:]

    def run(env):
        out = first(env)
        for k in rest:
            out = op(out, k(env))
        return out

    return run


def _power(expr: sp.Pow, kids: list[Node], xp) -> Node:
    base, exponent = kids
    e = expr.exp
    if e.is_number:
        p = _const(e)
        if p == 0.5:
            return lambda env: xp.sqrt(base(env))
        if p == -0.5:
            return lambda env: 1.0 / xp.sqrt(base(env))
        if p == -1.0:
            return lambda env: 1.0 / base(env)
        if p == 2.0:
            return lambda env: _square(base(env))
        if p == int(p):
            n = int(p)
            return lambda env: base(env) ** n
        return lambda env: base(env) ** p
    return lambda env: base(env) ** exponent(env)


def _square(v):
    return v * v


def _arrays(values: list, xp) -> list:
    like = next((v for v in values if not isinstance(v, (float, bool))), None)
    return [_as_array(v, like, xp) for v in values]


def _reduce_arrays(values: list, pick, xp):
    values = _arrays(values, xp)
    out = values[0]
    for v in values[1:]:
        out = pick(out, v)
    return out


def _piecewise(expr: sp.Piecewise, xp) -> Node:
    pieces: list[tuple[Node, Node | None]] = []
    for value, cond in expr.args:
        if cond is sp.true:
            pieces.append((_build(value, xp), None))
            break
        if cond is sp.false:
            continue
        pieces.append((_build(value, xp), _build(cond, xp)))

    def run(env):
        if pieces[-1][1] is None:
            out = pieces[-1][0](env)
            rest = pieces[:-1]
        else:
            out = math.nan  # outside every piece: undefined, as SymPy says
            rest = pieces
        for value, cond in reversed(rest):
            c = cond(env)
            v = value(env)
            like = next((a for a in (v, out) if not isinstance(a, (float, bool))), None)
            if like is None:  # both branches constant: take the float dtype of the inputs
                like = next(iter(env.values()))
            out = xp.where(c, _as_array(v, like, xp), _as_array(out, like, xp))
        return out

    return run
