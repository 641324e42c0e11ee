"""Typesetting: a relation, its symbols and its numbers as LaTeX and Markdown.

The one place that decides how a formula looks, wherever it is shown: a Jupyter cell
(`Relation._repr_latex_`, the models', certificates' and proofs' `_repr_markdown_`) and the
report page (`surrogate.interface.report`).

- **Names as written.**  SymPy's printer reads ``Nu`` as the Greek capital nu (an upright N)
  and ``Re`` as the product R e; here a name of several letters is upright text
  (``\\mathrm{Nu}``, ``\\mathrm{Re}_{D}``), a single letter is an italic variable, what
  follows ``_`` is a subscript (``T_inf`` is ``T_{\\mathrm{inf}}``, ``T_∞`` is ``T_{\\infty}``),
  trailing digits are a subscript (``x1`` is ``x_{1}``), and the spelled-out Greek letters
  whose glyph differs from a Latin one (``alpha``, ``mu``, ``Delta``) are Greek.
- **Units as declared** (`Relation(units=...)`, units.py): ``unit_text`` for tables and
  listings (``m``, ``dimensionless``), ``unit_label`` for plot axes and columns (``D [m]``;
  a dimensionless symbol or one without a unit is its name alone), ``unit_latex`` after a
  range (``0.01 \\le D \\le 0.1\\ \\mathrm{m}``; nothing for a dimensionless one).
- **Functions as the textbook writes them.**  SymPy keeps ``log(x, 10)`` as
  ``log(x)/log(10)``; a product whose ``log(10)`` factors cancel its logarithms' powers
  (``-2 log(a)/log(10)``, Haaland's ``0.3086 log(10)**2/log(a)**2``) is printed with
  ``\\log_{10}``, and the natural logarithm as ``\\ln``.  Printing only: the expression is
  not changed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

import sympy as sp

from .units import is_dimensionless

__all__ = ["latex", "symbol_latex", "symbol_names", "relation_latex", "text", "number", "number_latex",
           "markdown_table", "markdown_cell", "inline", "point_markdown", "unit_text", "unit_latex", "unit_label"]

#: Spelled-out Greek letters printed as the letter: their glyph is not a Latin one.
GREEK = {
    *("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau upsilon "
      "phi chi psi omega varepsilon vartheta varphi varrho varsigma varpi").split(),
    *"Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split(),
}
#: SymPy's spelling of lambda (a Python keyword)
_ALIASES = {"lamda": r"\lambda", "Lamda": r"\Lambda", "∞": r"\infty"}
_LATEX_SPECIAL = {"\\": r"\backslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "$": r"\$", "%": r"\%",
                  "&": r"\&", "#": r"\#", "^": r"\hat{}", "~": r"\sim{}", " ": r"\ "}
_WORD = re.compile(r"[^\W_]+")  # letters and digits, any script
_BASE = re.compile(r"([^\W\d_]+)(\d+)")  # letters then digits: x1, H0, dT1


def _word(part: str) -> str:
    """One piece of a name (no underscore): a letter, a Greek name, a number or upright text."""
    if part in _ALIASES:
        return _ALIASES[part]
    if part in GREEK:
        return "\\" + part
    if len(part) == 1 or part.isdigit():
        return part
    return rf"\mathrm{{{part}}}"


def symbol_latex(name: str) -> str:
    """The LaTeX of a symbol's name, as the user wrote it: ``Nu`` -> ``\\mathrm{Nu}``,
    ``Re_D`` -> ``\\mathrm{Re}_{D}``, ``T_inf`` -> ``T_{\\mathrm{inf}}``, ``x1`` -> ``x_{1}``.

    A name that is not words joined by single underscores (``r_o/r_i``, ``a b``) is
    printed whole as upright text, its special characters escaped."""
    parts = name.split("_")
    if not all(_WORD.fullmatch(p) or p in _ALIASES for p in parts):
        return r"\mathrm{" + "".join(_LATEX_SPECIAL.get(c, c) for c in name) + "}"
    base, subs = parts[0], parts[1:]
    m = _BASE.fullmatch(base)
    if m:
        base, subs = m.group(1), [m.group(2), *subs]
    tex = _word(base)
    if subs:
        tex += "_{" + ",".join(_word(s) for s in subs) + "}"
    return tex


def symbol_names(symbols: Iterable[sp.Symbol]) -> dict[sp.Symbol, str]:
    """{symbol: its LaTeX} for `sympy.latex(..., symbol_names=...)`."""
    return {s: symbol_latex(s.name) for s in symbols}


# -- log10: printing only ----------------------------------------------------------------------
class _Log10(sp.Function):
    """log10(x), for printing: never evaluated, never compiled."""

    nargs = 1

    def _latex(self, printer, exp=None):
        tex = r"\log_{10}{\left(" + printer._print(self.args[0]) + r" \right)}"
        return tex if exp is None else f"{tex}^{{{exp}}}"

    def _sympystr(self, printer):
        return f"log10({printer._print(self.args[0])})"


_LOG10 = sp.log(10)


def _with_log10(expr):
    """`expr` with each product whose log(10) factors cancel the powers of its logarithms
    written in log10 (``-2*log(a)/log(10)`` -> ``-2*log10(a)``); anything else as it is."""
    if not isinstance(expr, sp.Basic) or not expr.args or not expr.has(_LOG10):
        return expr
    args = [_with_log10(a) for a in expr.args]
    if isinstance(expr, sp.Equality):
        return sp.Eq(*args, evaluate=False)
    if not expr.is_Mul:
        return expr.func(*args, evaluate=False) if isinstance(expr, (sp.Add, sp.Pow)) else expr.func(*args)
    tens, logs, rest = 0, [], []
    for a in args:
        base, e = a.as_base_exp()
        if base == _LOG10 and e.is_Integer:
            tens += int(e)
        elif isinstance(base, sp.log) and e.is_Integer:
            logs.append((base, int(e)))
        else:
            rest.append(a)
    if tens and logs and sum(e for _, e in logs) == -tens and all(e * tens < 0 for _, e in logs):
        return sp.Mul(*rest, *(_Log10(b.args[0]) ** e for b, e in logs), evaluate=False)
    return sp.Mul(*args, evaluate=False)


def latex(expr, symbols: Iterable[sp.Symbol] = ()) -> str:
    """The LaTeX of an expression or equation: names as written, ``\\log_{10}`` and ``\\ln``.

    `symbols` may add symbols to name (a relation's); the expression's own are always named."""
    expr = sp.sympify(expr)
    names = symbol_names({*expr.free_symbols, *symbols})
    return sp.latex(_with_log10(expr), symbol_names=names, ln_notation=True)


def text(expr) -> str:
    """The plain text of an expression or equation (SymPy's, ``log10(x)`` for log(x)/log(10),
    ``=`` for an equation)."""
    if isinstance(expr, sp.Equality):
        return f"{text(expr.lhs)} = {text(expr.rhs)}"
    return sp.sstr(_with_log10(sp.sympify(expr)))


# -- numbers -------------------------------------------------------------------------------------
def number(v: float, digits: int = 6) -> str:
    """A number as text, short: ``4000``, ``1e+08`` -> ``1e8``, ``inf``."""
    v = float(v)
    if not math.isfinite(v):
        return "inf" if v > 0 else "-inf" if v < 0 else "nan"
    s = f"{v:.{digits}g}"
    if "e" in s:
        mant, ex = s.split("e")
        s = f"{mant}e{int(ex)}"
    return s


def number_latex(v: float, digits: int = 6) -> str:
    r"""A number as LaTeX: ``4000``, ``10^{8}``, ``2.5 \cdot 10^{-5}``, ``\infty``."""
    s = number(v, digits)
    if s in ("inf", "-inf"):
        return s.replace("inf", r"\infty")
    if "e" not in s:
        return s
    mant, ex = s.split("e")
    if mant in ("1", "-1"):
        return f"{mant[:-1]}10^{{{ex}}}"
    return rf"{mant} \cdot 10^{{{ex}}}"


# -- units ----------------------------------------------------------------------------------------
def unit_text(unit: str | None) -> str:
    """A declared unit for a table or a listing: as written (``W/(m^2*K)``), ``dimensionless``
    for ``""`` or ``"1"``, and ``""`` for a symbol without a unit (None)."""
    if unit is None:
        return ""
    return "dimensionless" if is_dimensionless(unit) else unit


def unit_label(name: str, unit: str | None) -> str:
    """A plot axis' or a column's label: ``D [m]``; the name alone for a dimensionless symbol
    (``Re``) or one without a unit."""
    return name if unit is None or is_dimensionless(unit) else f"{name} [{unit}]"


_UNIT_POWER = re.compile(r"(\^|\*\*)\s*(-?[0-9.]+|\(-?[0-9./]+\))")


def unit_latex(unit: str | None) -> str:
    r"""A declared unit as upright LaTeX, from its text alone (pint is not needed):
    ``W/(m^2*K)`` -> ``\mathrm{W/(m^{2}\,K)}``; ``""`` for a dimensionless symbol or one
    without a unit."""
    if unit is None or is_dimensionless(unit):
        return ""
    out, pos = [], 0
    for m in _UNIT_POWER.finditer(unit):
        out.append(_unit_chars(unit[pos : m.start()]))
        out.append("^{" + m.group(2).strip("()") + "}")
        pos = m.end()
    out.append(_unit_chars(unit[pos:]))
    return r"\mathrm{" + "".join(out) + "}"


def _unit_chars(part: str) -> str:
    return "".join(r"\," if c in "* " else _LATEX_SPECIAL.get(c, c) for c in part)


def _bound_latex(b, symbols) -> str:
    b = sp.sympify(b)
    return latex(b, symbols) if b.free_symbols else number_latex(float(b))


def relation_latex(relation) -> str:
    r"""The relation as declared, in LaTeX: each equation, then each input with its bounds
    (``4000 \le \mathrm{Re} \le 10^{8}``), then each declared output range and parameter,
    one line each, in an ``aligned`` block (without the ``$$`` around it)."""
    syms = relation.symbols.values()
    units = getattr(relation, "units", {})
    lines = []
    for eq in relation.equations:
        lhs, rhs = latex(eq.lhs, syms), latex(eq.rhs, syms)
        lines.append(f"{lhs} &= {rhs}")
    ranges = [(n, lo, hi, "") for n, (lo, hi) in relation.bounds.items()]
    ranges += [(n, r[0], r[1], "output") for n, r in relation.output_ranges.items() if r is not None]
    ranges += [(n, lo, hi, "parameter") for n, (lo, hi) in relation.parameter_bounds.items()]
    for n, lo, hi, what in ranges:
        tag = rf" && \text{{({what})}}" if what else ""
        unit = unit_latex(units.get(n))
        unit = rf"\ {unit}" if unit else ""
        lines.append(f"{_bound_latex(lo, syms)} \\le {symbol_latex(n)} &\\le {_bound_latex(hi, syms)}{unit}{tag}")
    ranged = {n for n, *_ in ranges}
    # an output (or any symbol) with a unit and no range above: its unit on a line of its own
    for n in relation.outputs:
        if n not in ranged and unit_latex(units.get(n)):
            lines.append(f"{symbol_latex(n)} & \\text{{in }} {unit_latex(units[n])} && \\text{{(output)}}")
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


# -- Markdown -------------------------------------------------------------------------------------
def markdown_cell(c) -> str:
    return str(c).replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence, rows: Sequence[Sequence]) -> str:
    """A GitHub-flavoured Markdown table (pipes in cells escaped)."""
    lines = ["| " + " | ".join(markdown_cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(markdown_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def inline(tex: str) -> str:
    """LaTeX as inline math in Markdown."""
    return f"${tex}$"


def point_markdown(point: Mapping[str, float]) -> str:
    """``$\\mathrm{Re}$ = 4000, $f$ = 0.01``: a point's coordinates, names typeset."""
    return ", ".join(f"{inline(symbol_latex(k))} = {number(v, 9)}" for k, v in point.items())
