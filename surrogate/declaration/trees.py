"""Expressions as JSON trees: SymPy in, plain data out, and back without parsing text.

An artifact stores each expression as nested objects -- ``{"op": "Add", "args": [...]}``,
``{"Symbol": "x1"}``, ``{"Integer": "2"}`` -- of whitelisted node types.  Reading one
never parses or evaluates text.  It is also bounded: SymPy evaluates numbers exactly
as it builds an expression, so limits on depth, size, exponents and digits keep a
hostile tree of a few bytes from keeping it busy for ever.  Importing this module
does not import torch.
"""

from __future__ import annotations

import math
import re
from typing import Any

import sympy as sp
from sympy.functions.elementary.piecewise import ExprCondPair

from ..errors import ArtifactError

__all__ = ["expr_to_json", "expr_from_json", "read_expr", "as_float", "check_name", "short", "MAX_DEPTH", "MAX_NODES"]

MAX_DEPTH = 64
MAX_NODES = 20_000
MAX_NAME = 64
MAX_DIGITS = 400  # of one Integer or Rational part
MAX_EXPONENT = 1000  # largest constant exponent
MAX_EXACT_DIGITS = 10_000  # of the exact numbers SymPy could form from one expression

# Whitelisted node types: the compiler's function table plus the structure around it.
_NODES: dict[str, type] = {
    c.__name__: c
    for c in (
        sp.Add, sp.Mul, sp.Pow, sp.exp, sp.log, sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc,
        sp.asin, sp.acos, sp.atan, sp.acot, sp.atan2, sp.sinh, sp.cosh, sp.tanh, sp.coth, sp.sech,
        sp.csch, sp.asinh, sp.acosh, sp.atanh, sp.Abs, sp.sign, sp.floor, sp.ceiling, sp.Max, sp.Min,
        sp.Piecewise, ExprCondPair, sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan,
        sp.GreaterThan, sp.Equality, sp.Unequality, sp.And, sp.Or, sp.Not,
        sp.erf, sp.erfc, sp.erfinv, sp.gamma, sp.loggamma, sp.polygamma, sp.sinc, sp.LambertW, sp.Heaviside,
        sp.Mod, sp.besselj, sp.bessely, sp.besseli, sp.besselk,
    )
}
_CONSTANTS = {"pi": sp.pi, "E": sp.E}
_INT = re.compile(rf"-?\d{{1,{MAX_DIGITS}}}\Z", re.ASCII)


# -- expressions ---------------------------------------------------------------------------
def expr_to_json(expr: sp.Basic) -> Any:
    """A JSON-able tree of `expr`; raises ArtifactError for a node it cannot store."""
    if isinstance(expr, sp.Symbol):
        return {"Symbol": expr.name}
    if isinstance(expr, sp.Integer):
        return {"Integer": str(int(expr))}
    if isinstance(expr, sp.Rational):
        return {"Rational": [str(expr.p), str(expr.q)]}
    if isinstance(expr, sp.Float):
        return {"Float": repr(float(expr))}
    for name, c in _CONSTANTS.items():
        if expr is c:
            return {"Constant": name}
    if expr is sp.true or expr is sp.false:
        return {"Bool": expr is sp.true}
    name = type(expr).__name__
    if _NODES.get(name) is type(expr):
        return {"op": name, "args": [expr_to_json(a) for a in expr.args]}
    raise ArtifactError(f"cannot store {name} ({expr}) in an artifact: it is not a supported node type")


def expr_from_json(tree: Any, symbols: dict[str, sp.Symbol]) -> sp.Basic:
    """Rebuild an expression from its tree; ArtifactError for anything outside the limits.

    Only whitelisted node types and declared symbols are accepted, nested at most
    MAX_DEPTH deep and MAX_NODES in all.  SymPy evaluates numbers exactly as it
    builds and later handles an expression, so a few bytes such as
    ``Pow(10**400, 10**400)`` or ``floor(exp(exp(10**400)))`` could otherwise keep
    it busy for ever: every constant sub-expression must have a finite float64
    value (checked with `math`, bottom-up), a constant exponent is at most
    MAX_EXPONENT in size, and the exact digits SymPy could form are bounded by
    MAX_EXACT_DIGITS.
    """
    return read_expr(tree, symbols, [0])


def read_expr(tree: Any, symbols: dict[str, sp.Symbol], count: list[int]) -> sp.Basic:
    """`expr_from_json` with a node count shared by every expression of one relation."""
    expr, _, _ = _node(tree, symbols, 0, count)
    return expr


def _node(tree: Any, symbols: dict[str, sp.Symbol], depth: int, count: list[int]) -> tuple[sp.Basic, Any, int]:
    """(expression, float value or None when not a numeric constant, exact-digit bound)."""
    count[0] += 1
    if depth > MAX_DEPTH:
        raise ArtifactError(f"expression tree nested deeper than {MAX_DEPTH} levels; refusing it")
    if count[0] > MAX_NODES:
        raise ArtifactError(f"expression trees have more than {MAX_NODES} nodes; refusing them")
    if isinstance(tree, str):
        raise ArtifactError(f"expression {short(tree)} is text; an artifact stores expressions as JSON trees "
                            "and never parses or evaluates text")
    if not isinstance(tree, dict) or len(tree) not in (1, 2):
        raise ArtifactError(f"expression node must be a small JSON object, not {short(tree)}")
    if "op" in tree:
        return _operation(tree, symbols, depth, count)
    if len(tree) != 1:
        raise ArtifactError(f"expression node must be a small JSON object, not {short(tree)}")
    ((key, value),) = tree.items()
    if key == "Symbol":
        if not isinstance(value, str) or value not in symbols:
            raise ArtifactError(f"expression refers to symbol {short(value)}, which the manifest does not declare")
        return symbols[value], None, 1
    if key == "Integer":
        if not isinstance(value, str) or not _INT.match(value):
            raise ArtifactError(f"Integer node must hold a decimal string, not {short(value)}")
        return _number(sp.Integer(int(value)), len(value))
    if key == "Rational":
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) and _INT.match(v) for v in value)):
            raise ArtifactError(f"Rational node must hold two decimal strings, not {short(value)}")
        if int(value[1]) == 0:
            raise ArtifactError("Rational node has a zero denominator")
        return _number(sp.Rational(int(value[0]), int(value[1])), len(value[0]) + len(value[1]))
    if key == "Float":
        f = as_float(value, "Float node", text=True)
        return sp.Float(f), f, 1
    if key == "Constant":
        if not isinstance(value, str) or value not in _CONSTANTS:
            raise ArtifactError(f"unknown constant {short(value)}; allowed: {', '.join(_CONSTANTS)}")
        return _CONSTANTS[value], float(_CONSTANTS[value]), 1
    if key == "Bool":
        if not isinstance(value, bool):
            raise ArtifactError(f"Bool node must hold true or false, not {short(value)}")
        return (sp.true if value else sp.false), None, 1
    raise ArtifactError(f"unknown expression node {short(key)}")


def _number(n: sp.Rational, digits: int) -> tuple[sp.Basic, float, int]:
    try:
        f = float(n)
    except OverflowError:
        f = math.inf
    if not math.isfinite(f):
        raise ArtifactError(f"number {short(str(n))} is outside the float64 range; refusing it")
    return n, f, digits


def _operation(tree: dict, symbols: dict[str, sp.Symbol], depth: int, count: list[int]) -> tuple[sp.Basic, Any, int]:
    op, args = tree.get("op"), tree.get("args")
    cls = _NODES.get(op) if isinstance(op, str) else None
    if cls is None:
        raise ArtifactError(f"unknown expression node type {short(op)}; allowed: {', '.join(sorted(_NODES))}")
    if not isinstance(args, list) or not args or set(tree) != {"op", "args"}:
        raise ArtifactError(f"node {op} needs a non-empty list of args, not {short(args)}")
    parts = [_node(a, symbols, depth + 1, count) for a in args]
    kids = [k for k, _, _ in parts]
    values = [v for _, v, _ in parts]
    digits = sum(d for _, _, d in parts)
    if cls is sp.Pow and len(parts) == 2 and values[1] is not None:
        if abs(values[1]) > MAX_EXPONENT:
            raise ArtifactError(f"constant exponent {values[1]:.6g} is larger than {MAX_EXPONENT}; refusing it")
        digits = parts[0][2] * max(1, math.ceil(abs(values[1]))) + parts[1][2]
    if digits > MAX_EXACT_DIGITS:
        raise ArtifactError(f"expression holds numbers whose exact value could need more than {MAX_EXACT_DIGITS} "
                            "digits; refusing it")
    value = None
    if all(v is not None for v in values) and op in _FLOAT_OPS:
        try:
            value = float(_FLOAT_OPS[op](*values))
        except (OverflowError, ValueError, ZeroDivisionError, TypeError):
            value = math.nan
        if not math.isfinite(value):
            shown = ", ".join(f"{v:.6g}" for v in values)
            raise ArtifactError(f"constant sub-expression {op}({shown}) has no finite real float64 value; refusing it")
    try:
        if cls in (sp.Add, sp.Mul, sp.Pow, sp.Max, sp.Min):
            expr = cls(*kids, evaluate=False)
        else:
            expr = cls(*kids)
    except Exception as e:  # noqa: BLE001 - SymPy's constructors raise many types on odd arguments
        raise ArtifactError(f"node {op} with {len(kids)} args is malformed: {type(e).__name__}: {e}") from None
    return expr, value, digits


def _sign(v: float) -> float:
    return float((v > 0) - (v < 0))


def _scipy(name: str):
    """scipy.special.<name>, imported when a stored constant first needs it."""
    def call(*a):
        import scipy.special

        return float(getattr(scipy.special, name)(*a))
    return call


def _lambertw(a: float, k: float = 0.0) -> float:
    if k != 0 or not a >= -1 / math.e:
        return math.nan
    import scipy.special

    return float(scipy.special.lambertw(a, 0).real)


def _heaviside(a: float, h0: float = 0.5) -> float:
    return 1.0 if a > 0 else 0.0 if a < 0 else h0


#: float64 twins of the numeric node types, to bound constants before SymPy sees them.
_FLOAT_OPS: dict[str, Any] = {
    "Add": lambda *a: math.fsum(a),
    "Mul": lambda *a: math.prod(a),
    "Pow": lambda a, b: math.pow(a, b),
    "exp": math.exp,
    "log": lambda a, b=math.e: math.log(a, b),
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "cot": lambda a: 1.0 / math.tan(a),
    "sec": lambda a: 1.0 / math.cos(a),
    "csc": lambda a: 1.0 / math.sin(a),
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "acot": lambda a: math.atan(1.0 / a),
    "atan2": math.atan2,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "coth": lambda a: 1.0 / math.tanh(a),
    "sech": lambda a: 1.0 / math.cosh(a),
    "csch": lambda a: 1.0 / math.sinh(a),
    "asinh": math.asinh,
    "acosh": math.acosh,
    "atanh": math.atanh,
    "Abs": abs,
    "sign": _sign,
    "floor": math.floor,
    "ceiling": math.ceil,
    "Max": max,
    "Min": min,
    "erf": math.erf,
    "erfc": math.erfc,
    "erfinv": _scipy("erfinv"),
    "gamma": math.gamma,
    "loggamma": lambda a: math.lgamma(a) if a > 0 else math.nan,
    "polygamma": _scipy("polygamma"),
    "sinc": lambda a: math.sin(a) / a if a != 0 else 1.0,
    "LambertW": _lambertw,
    "Heaviside": _heaviside,
    "Mod": lambda a, b: a % b,  # Python's % takes the sign of the divisor, as SymPy's Mod does
    "besselj": _scipy("jv"),
    "bessely": _scipy("yv"),
    "besseli": _scipy("iv"),
    "besselk": _scipy("kv"),
}


def as_float(v: Any, what: str, *, text: bool = False) -> float:
    """A finite float from a JSON number (or, with `text`, a short decimal string)."""
    kinds = (str, int, float) if text else (int, float)
    if isinstance(v, bool) or not isinstance(v, kinds) or (isinstance(v, str) and len(v) > 40):
        raise ArtifactError(f"{what} must be a number, not {short(v)}")
    try:
        f = float(v)
    except (ValueError, OverflowError):
        raise ArtifactError(f"{what} must be a finite number, not {short(v)}") from None
    if not math.isfinite(f):
        raise ArtifactError(f"{what} is {f}; it must be finite")
    return f


def short(v: Any) -> str:
    """`repr(v)` cut to 80 characters, for messages about values read from a file."""
    r = repr(v)
    return r if len(r) <= 80 else r[:77] + "..."


def name_problem(name: Any) -> str | None:
    """Why `name` cannot name a symbol in an artifact, or None.

    Any text a SymPy symbol can carry is kept -- ``lambda``, ``T_inf``, Greek and
    other Unicode letters, spaces -- since a name is only ever a JSON string and a
    dictionary key, never code; it must be non-empty, at most MAX_NAME characters
    and printable (no control characters)."""
    if not isinstance(name, str) or not name:
        return "is empty or not text"
    if len(name) > MAX_NAME:
        return f"is longer than {MAX_NAME} characters"
    if not name.isprintable():
        return "holds control or other non-printable characters"
    return None


def check_name(name: Any, what: str = "symbol") -> str:
    """`name` if `name_problem` finds nothing; ArtifactError otherwise."""
    why = name_problem(name)
    if why:
        raise ArtifactError(f"{what} name {short(name)} {why}; refusing the artifact")
    return name
