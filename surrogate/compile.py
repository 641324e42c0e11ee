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
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import sympy as sp

from sympy.functions.elementary.piecewise import ExprCondPair

from .errors import UnsupportedExpressionError

__all__ = ["compile_expr", "unsupported_functions", "SUPPORTED_FUNCTIONS"]

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
    sorted({c.__name__ for c in (*_SAME_NAME, *_BUILT, *_RELATIONAL, *_STRUCTURAL)})
)

Node = Callable[[Mapping[str, Any]], Any]


def unsupported_functions(expr: sp.Basic) -> list[str]:
    """Names of the functions in `expr` that the compiler cannot translate (sorted)."""
    bad: set[str] = set()
    for node in sp.preorder_traversal(expr):
        if node.is_Symbol or node.is_Number or isinstance(node, sp.NumberSymbol):
            continue
        if isinstance(node, (sp.logic.boolalg.BooleanTrue, sp.logic.boolalg.BooleanFalse)):
            continue
        if node is sp.S.ImaginaryUnit:
            bad.add("I (imaginary unit)")
            continue
        if isinstance(node, ExprCondPair):
            continue
        cls = type(node)
        if cls in _SAME_NAME or cls in _BUILT or cls in _RELATIONAL or isinstance(node, _STRUCTURAL):
            continue
        if not node.free_symbols and node.is_number and node.is_real is not False:
            continue  # folded to a constant
        bad.add(getattr(cls, "__name__", str(cls)))
    return sorted(bad)


def _backend(name: str):
    if name == "torch":
        import torch

        return torch
    if name == "numpy":
        return np
    raise ValueError(f"backend must be 'torch' or 'numpy', not {name!r}")


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

        def run_numpy(values: Mapping[str, Any]) -> np.ndarray:
            env = {k: np.asarray(values[k], dtype=np.float64) for k in names}
            with np.errstate(all="ignore"):
                out = node(env)
            return _full(out, env, values, xp)

        return run_numpy

    def run_torch(values: Mapping[str, Any]):
        return _full(node(values), values, values, xp)

    return run_torch


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


def free_names(exprs: Iterable[sp.Basic]) -> set[str]:
    """Names of the free symbols of several expressions."""
    out: set[str] = set()
    for e in exprs:
        out |= {s.name for s in e.free_symbols}
    return out
