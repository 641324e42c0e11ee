"""Relation: the declaration of equations, bounded inputs, outputs and parameters.

Everything is validated once, at construction, and every problem is reported
together in one RelationError.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import sympy as sp

from ..errors import RelationError
from .compile import unsupported_functions
from .compiled import CompiledRelation
from .display import number, relation_latex, text
from .domain import SCALES, Domain, build_domain
from .kinds import EXPLICIT, IMPLICIT, Kind
from .pieces import plan
from .trees import name_problem
from .units import check_units, is_dimensionless

__all__ = ["Relation"]

BoundLike = Any  # a number, a string or a SymPy expression


class Relation:
    """One or more SymPy equations between bounded inputs, outputs and parameters.

    Parameters
    ----------
    equations
        An equation ``Eq(y, f(x))`` or a list of them.  Symbols with ``bounds`` are
        inputs, symbols in ``parameters`` are parameters, every other free symbol
        is an output.
    bounds
        ``{symbol: (low, high)}`` for every input.  A bound is a number or a SymPy
        expression of other inputs (``x2: (1, x1)``); cycles are refused.
    outputs
        Optional: the output symbols (a list), or ``{symbol: (low, high)}`` giving
        each output's expected range.
    parameters
        ``{symbol: (low, high)}`` for unknown constants fitted by `fit`.
    scales
        Optional per-input chart/feature scale, ``"log"`` or ``"linear"``; by
        default log when the low bound is positive and the range spans a decade.
    normalizer
        Optional expression (or ``{output: expression}``) used instead of the term
        scale to normalise errors; its absolute value is used.
    units
        Optional ``{symbol: unit string}`` for any of the relation's symbols (or their names),
        as pint reads it: ``{h: "W/(m^2*K)", D: "m", Re: ""}``; ``""`` or ``"1"`` is
        dimensionless, a symbol left out has no unit.  Shown in listings, reports, plot axes
        and prediction columns, saved with the model, and used to convert pint Quantities
        passed to a prediction (units.py; pint is the optional ``units`` extra).  Units do
        not change training.
    name
        A label used in reports and artifacts.
    """

    def __init__(
        self,
        equations,
        *,
        bounds: Mapping[Any, tuple[BoundLike, BoundLike]],
        outputs=None,
        parameters: Mapping[Any, tuple[BoundLike, BoundLike]] | None = None,
        scales: Mapping[Any, str] | None = None,
        normalizer=None,
        units: Mapping[Any, str] | None = None,
        name: str | None = None,
    ):
        self.name = name
        problems: list[str] = []
        self._bare: list[int] = []  # equations given as an expression (read as expression = 0)
        self._explained = False  # an implicit-looking relation already explained by inputs without bounds
        eqs = _as_equations(equations, problems, self._bare)
        symbols = _symbols_of(eqs)
        self.equations: tuple[sp.Equality, ...] = tuple(eqs)

        def sym(key, what: str) -> sp.Symbol | None:
            if isinstance(key, sp.Symbol):
                symbols.setdefault(key.name, key)
                return key
            if isinstance(key, str) and key:
                return symbols.setdefault(key, sp.Symbol(key, real=True))
            problems.append(f"{what} key {key!r} is not a SymPy symbol or a symbol name")
            return None

        self._bounds: dict[str, tuple[sp.Expr, sp.Expr]] = {}
        for key, pair in (bounds or {}).items():
            s = sym(key, "bounds")
            if s is not None:
                b = _pair(s.name, pair, problems, symbols, "input")
                if b is not None:
                    self._bounds[s.name] = b
        self._parameters: dict[str, tuple[float, float]] = {}
        for key, pair in (parameters or {}).items():
            s = sym(key, "parameters")
            if s is None:
                continue
            b = _pair(s.name, pair, problems, symbols, "parameter")
            if b is not None:
                if b[0].free_symbols or b[1].free_symbols:
                    problems.append(f"bounds of parameter {s.name} must be numbers, not {b[0]}, {b[1]}")
                else:
                    self._parameters[s.name] = (float(b[0]), float(b[1]))
                    if not float(b[0]) < float(b[1]):
                        problems.append(
                            f"low >= high for parameter {s.name}: ({float(b[0])!r}, {float(b[1])!r}); bounds are never swapped"
                        )
        both = set(self._bounds) & set(self._parameters)
        for n in sorted(both):
            problems.append(f"{n} is given both bounds (an input) and parameter bounds; it can be only one")

        declared: dict[str, tuple[float, float] | None] = {}
        if outputs is not None:
            items = outputs.items() if isinstance(outputs, Mapping) else ((o, None) for o in _listify(outputs))
            for key, rng in items:
                s = sym(key, "outputs")
                if s is None:
                    continue
                if rng is not None:
                    b = _pair(s.name, rng, problems, symbols, "output")
                    if b is not None and (b[0].free_symbols or b[1].free_symbols):
                        problems.append(f"the range of output {s.name} must be numbers")
                        b = None
                    rng = (float(b[0]), float(b[1])) if b is not None else None
                declared[s.name] = rng

        free = [n for n in symbols if any(symbols[n] in e.free_symbols for e in eqs)]
        known = set(self._bounds) | set(self._parameters)
        outs = [n for n in free if n not in known]
        if outputs is not None:
            for n in declared:
                if n in known:
                    problems.append(f"{n} is declared an output but also has bounds as an input or parameter")
                elif n not in outs:
                    problems.append(f"output {n} appears in no equation; add an equation for it or drop it from outputs")
            for n in outs:
                if n not in declared:
                    problems.append(
                        f"{n} has no bounds: it appears in the equations but is neither an input (give it "
                        f"bounds={{{n}: (low, high)}}), a parameter, nor a declared output"
                    )
            outs = [n for n in declared if n in outs]
        self._symbols = symbols
        self.inputs: list[str] = list(self._bounds)
        self.outputs: list[str] = outs
        self.parameters: list[str] = list(self._parameters)
        self.output_ranges: dict[str, tuple[float, float] | None] = {o: declared.get(o) for o in outs}
        # an input no equation uses is refused, unless another input's bounds depend on it (it shapes
        # the domain: a piece of a Piecewise relation, piecewise.py, may use b in (0, a + 1) but not a)
        shaping = {s.name for lo, hi in self._bounds.values() for s in lo.free_symbols | hi.free_symbols}
        for n in self.inputs:
            if not any(symbols[n] in e.free_symbols for e in eqs) and n not in shaping:
                problems.append(f"input {n} appears in no equation; remove its bounds or use it")
        if eqs and not outs:
            problems.append(_no_output(eqs, self._bare, self._bounds))
        elif outputs is None and len(outs) > len(eqs):
            # more unknowns than equations: the ones beside a lone output are inputs without bounds
            missing = _unbounded(eqs, outs)
            if missing:
                one = len(missing) == 1
                lone = ", ".join(o for o in outs if o not in missing)
                problems.append(
                    f"{', '.join(missing)} {'has' if one else 'have'} no bounds: without them "
                    f"{'it is read as an output' if one else 'they are read as outputs'} beside {lone}, and "
                    f"{len(eqs)} equation{'' if len(eqs) == 1 else 's'} cannot give {len(outs)} outputs; give "
                    f"{'it' if one else 'each input'} bounds={{{missing[0]}: (low, high)}}, or list "
                    f"{'it in parameters if it is a constant' if one else 'the constants in parameters'} to fit"
                )
                self._explained = True

        self.scales: dict[str, str] = {}
        for key, sc in (scales or {}).items():
            s = sym(key, "scales")
            if s is None:
                continue
            if s.name not in self._bounds and s.name not in self.output_ranges:
                problems.append(f"scale given for {s.name}, which is not an input; inputs are {', '.join(self.inputs)}")
            elif sc not in SCALES:
                problems.append(f"scale for {s.name} is {sc!r}; use 'log' or 'linear'")
            elif s.name in self.output_ranges and sc == "log" and (self.output_ranges[s.name] or (0, 0))[0] <= 0:
                problems.append(f"log scale asked for output {s.name}, whose range {self.output_ranges[s.name]} does not "
                                "stay above zero; give a positive range or scales={...: 'linear'}")
            elif sc not in SCALES:
                problems.append(f"scale for {s.name} is {sc!r}; use 'log' or 'linear'")
            else:
                self.scales[s.name] = sc


        for n in list(symbols):
            problems.extend(_name_problems(n))
        #: {name: unit string} of the symbols declared with a unit (units.py); the `units` property
        self._units: dict[str, str] = check_units(units, symbols, problems)
        order = [*self.inputs, *self.outputs, *self.parameters]  # as the relation lists its symbols
        rank = {n: k for k, n in enumerate(order)}
        self._units = {n: self._units[n] for n in sorted(self._units, key=lambda n: rank.get(n, len(order)))}

        self.domain: Domain | None = None
        if self._bounds:
            self.domain = build_domain({k: v for k, v in self._bounds.items()},
                                       {k: v for k, v in self.scales.items() if k in self._bounds}, problems)
        else:
            problems.append("no inputs: give bounds={symbol: (low, high)} for each input")

        # Every symbol becomes real (positive or negative where its bounds say so),
        # whatever the user's carried: re(x), im(x) and Abs(exp(x)) then never reach
        # the compiler.  Names are kept.
        real = _real_symbols(symbols, self.domain, self._parameters, declared)
        symbols = {n: real[n] for n in symbols}
        eqs0, eqs = eqs, [sp.Eq(_replace(e.lhs, real), _replace(e.rhs, real), evaluate=False) for e in eqs]
        self.equations = tuple(eqs)
        self._bounds = {n: (_replace(lo, real), _replace(hi, real)) for n, (lo, hi) in self._bounds.items()}
        if self.domain is not None:
            self.domain = self.domain.with_bounds(self._bounds)
        self._symbols = symbols
        for n in self.inputs:  # a condition SymPy can decide from the bounds drops its branch
            if any(symbols[n].name == s.name for e in eqs0 for s in e.free_symbols) and \
                    not any(symbols[n] in e.free_symbols for e in eqs):
                problems.append(f"input {n} drops out of the equations over its bounds (they read "
                                f"{'; '.join(str(e) for e in eqs)} once {n} is known to lie in them: a Piecewise "
                                f"condition on {n} is decided there); remove its bounds or use it")

        self._declared_outputs = outputs is not None
        self._explicit = self._explicit_forms(eqs, problems)
        self.normalizer: dict[str, sp.Expr] = {}
        if normalizer is not None:
            items = normalizer.items() if isinstance(normalizer, Mapping) else ((o, normalizer) for o in outs)
            for key, expr in items:
                key = key.name if isinstance(key, sp.Symbol) else key
                expr = _replace(sp.sympify(expr), real)
                stray = sorted(s.name for s in expr.free_symbols if s.name not in self._bounds)
                if key not in outs:
                    problems.append(f"normalizer given for {key!r}, which is not an output")
                elif stray:
                    problems.append(f"normalizer for {key} uses {', '.join(stray)}, which are not inputs")
                else:
                    self.normalizer[key] = expr

        for where, expr in self._all_expressions():
            bad = unsupported_functions(expr)
            if bad:
                problems.append(f"{where} uses {', '.join(bad)}, which the compiler cannot translate")

        if problems:
            raise RelationError(problems, name)
        self._program = CompiledRelation(self)  # every function any stage uses; raises RelationError
        for faces in self._program.zero_faces.values():  # an output vanishing on a face: resolve that layer
            for k, side in faces:
                self.domain.zero_faces.setdefault(k, side)
        #: one sub-relation per piece of a Piecewise output (piecewise.py), or None: one network
        self.pieces = plan(self)

    # -- construction helpers ---------------------------------------------------------
    def _explicit_forms(self, eqs, problems) -> dict[str, sp.Expr]:
        """Explicit right-hand sides by output; {} when the relation is implicit.

        A relation is explicit when every equation reads ``output = f(inputs)``.
        Otherwise it is implicit: k equations in k outputs, trained from their
        residuals, and every output needs a declared range.
        """
        outs = set(self.outputs)
        forms: dict[str, sp.Expr] = {}
        implicit = []
        for eq in eqs:
            lhs, rhs = eq.lhs, eq.rhs
            if not (lhs.is_Symbol and lhs.name in outs) and rhs.is_Symbol and rhs.name in outs:
                lhs, rhs = rhs, lhs
            rhs_outs = [s.name for s in rhs.free_symbols if s.name in outs]
            if lhs.is_Symbol and lhs.name in outs and not rhs_outs and lhs.name not in forms:
                forms[lhs.name] = rhs
            else:
                implicit.append(eq)
        if not implicit:
            return forms
        if not self.outputs or self._explained:
            return {}  # reported already: no output at all, or inputs without bounds
        if not self._declared_outputs:
            names = ", ".join(self.outputs)
            bare = [i + 1 for i in self._bare if eqs[i] in implicit]
            problems.append(
                f"{names} {'is' if len(self.outputs) == 1 else 'are'} not given explicitly (an output on both sides, "
                f"or no lone output on one side): declare each output of an implicit relation with its range, "
                f"outputs={{{self.outputs[0] if self.outputs else 'y'}: (low, high)}}; if a symbol is an input give it "
                "bounds, if a constant list it in parameters"
                + (f"; equation {', '.join(map(str, bare))} is a bare expression, read as expression = 0: for an "
                   "output given by a formula write sp.Eq(output, formula)" if bare else "")
            )
            return {}
        for o in self.outputs:
            rng = self.output_ranges.get(o)
            if rng is None:
                problems.append(f"output {o} of an implicit relation needs a range: outputs={{{o}: (low, high)}}; "
                                "it brackets the root and sets the output scaling")
            elif not rng[0] < rng[1]:
                problems.append(f"low >= high in the range of output {o}: {rng}; bounds are never swapped")
        if len(eqs) != len(self.outputs):
            problems.append(f"an implicit relation needs as many equations as outputs; it has {len(eqs)} equations "
                            f"in {len(self.outputs)} outputs ({', '.join(self.outputs)})")
        return {}
    def _all_expressions(self):
        for i, eq in enumerate(self.equations):
            yield f"equation {i + 1}", eq.lhs - eq.rhs
        for n, (lo, hi) in self._bounds.items():
            yield f"bound of {n}", sp.Add(lo, hi, evaluate=False)
        for n, e in getattr(self, "normalizer", {}).items():
            yield f"normalizer of {n}", e

    # -- queries -----------------------------------------------------------------------
    @property
    def symbols(self) -> dict[str, sp.Symbol]:
        return dict(self._symbols)

    @property
    def bounds(self) -> dict[str, tuple[sp.Expr, sp.Expr]]:
        return dict(self._bounds)

    @property
    def units(self) -> dict[str, str]:
        """{name: unit string, as declared} of the symbols that have a unit (``""`` or ``"1"``:
        dimensionless); symbols without one are absent."""
        return dict(self._units)

    @property
    def parameter_bounds(self) -> dict[str, tuple[float, float]]:
        return dict(self._parameters)

    @property
    def is_explicit(self) -> bool:
        return len(self._explicit) == len(self.outputs)

    @property
    def kind(self) -> Kind:
        """EXPLICIT or IMPLICIT (kinds.py): what the stages ask instead of branching."""
        return EXPLICIT if self.is_explicit else IMPLICIT

    @property
    def residuals(self) -> tuple[sp.Expr, ...]:
        """lhs - rhs of every equation."""
        return tuple(e.lhs - e.rhs for e in self.equations)

    def residual_scale(self, i: int) -> sp.Expr:
        """The term scale of residual i: the sum of the absolute values of its terms."""
        return self._program.scale_exprs[i]

    def output_scale(self, output: str) -> str:
        """'log' or 'linear' for an output with a declared range.

        A positive range is log-scaled even when it spans less than a decade: the
        exponential head then keeps every prediction positive, so a residual with
        sqrt(f) or log(f) stays defined from the first step of training."""
        if output in self.scales:
            return self.scales[output]
        lo, hi = self.output_ranges[output]
        return "log" if lo > 0 else "linear"

    def expression(self, output: str) -> sp.Expr:
        """The right-hand side that gives `output` explicitly."""
        return self._explicit[output]

    def terms(self, output: str) -> tuple[sp.Expr, ...]:
        """The top-level terms of the expression for `output`."""
        return sp.Add.make_args(self._explicit[output])

    def scale_expression(self, output: str) -> sp.Expr:
        """S(x): |normaliser|, or the output's magnitude through its expression tree
        (metric.magnitude: the sum of |terms| at the top, sums that change sign
        measured by their parts)."""
        return self._program.scale_exprs[output]

    @property
    def program(self):
        """The CompiledRelation: every compiled function and probed fact (compiled.py)."""
        return self._program

    def compiled(self, kind: str, which, backend: str = "torch"):
        """A function compiled at declaration.  kind 'expression', 'scale', 'abs',
        'group_pos' or 'group_neg' takes an output name; 'residual',
        'residual_scale', 'group_pos' or 'group_neg' an equation index; 'jacobian'
        a pair (equation, output index)."""
        return self._program.get(kind, which, backend)

    def suggested_atol(self) -> float:
        """0 where every output's scale stays positive; else the atol to use (the
        largest suggested over the outputs whose scale vanishes somewhere)."""
        return max(self._program.suggested_atol.values(), default=0.0)

    def evaluate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Float64 NumPy reference values of every output at the given inputs.

        Explicit outputs are redone in extended precision where float64 loses its
        digits (reference.py); implicit ones are solved for numerically (NaN where
        no single root lies in the output's range)."""
        import numpy as np

        x = np.stack([np.asarray(values[n], dtype=np.float64).reshape(-1) for n in self.inputs], 1)
        y = self.kind.truth(self, x).values
        return {o: y[:, j] for j, o in enumerate(self.outputs)}

    def substitute(self, values: Mapping[str, float], name: str | None = None) -> Relation:
        """A copy with the given parameters replaced by numbers (e.g. fitted values)."""
        unknown = sorted(set(values) - set(self.parameters))
        if unknown:
            raise RelationError(f"{', '.join(unknown)} are not parameters; parameters are {', '.join(self.parameters)}", self.name)
        subs = {self._symbols[k]: sp.Float(float(v)) for k, v in values.items()}
        return Relation(
            [sp.Eq(e.lhs.subs(subs), e.rhs.subs(subs)) for e in self.equations],
            bounds={self._symbols[k]: v for k, v in self._bounds.items()},
            outputs={self._symbols[o]: r for o, r in self.output_ranges.items()}
            if any(r is not None for r in self.output_ranges.values())
            else [self._symbols[o] for o in self.outputs],
            parameters={self._symbols[k]: v for k, v in self._parameters.items() if k not in values},
            scales=self.scales,
            normalizer={o: e.subs(subs) for o, e in self.normalizer.items()} or None,
            units={n: u for n, u in self._units.items() if n not in values} or None,
            name=name or self.name,
        )

    def __repr__(self) -> str:
        eqs = "; ".join(str(e) for e in self.equations)
        label = f"{self.name!r}: " if self.name else ""
        return f"Relation({label}{eqs}; inputs {', '.join(self.inputs)}; outputs {', '.join(self.outputs)})"

    def __str__(self) -> str:
        """Several lines for a terminal: the name and kind, each equation, each input with its bounds."""
        def bound(b) -> str:
            return text(b) if b.free_symbols else number(float(b))

        def unit(n: str) -> str:  # "  [m]"; nothing for a dimensionless symbol (listed below) or one without a unit
            return f"  [{self._units[n]}]" if n in self._units and not is_dimensionless(self._units[n]) else ""

        lines = [f"{self.name or 'relation'} ({self.kind.description})"]
        lines += [f"  {text(e)}" for e in self.equations]
        lines += [f"  {bound(lo)} <= {n} <= {bound(hi)}{unit(n)}" for n, (lo, hi) in self._bounds.items()]
        lines += [f"  {number(r[0])} <= {o} <= {number(r[1])}{unit(o)}  (output)" for o, r in self.output_ranges.items()
                  if r is not None]
        lines += [f"  {o}{unit(o)}  (output)" for o, r in self.output_ranges.items() if r is None and unit(o)]
        lines += [f"  {number(lo)} <= {n} <= {number(hi)}{unit(n)}  (parameter)"
                  for n, (lo, hi) in self._parameters.items()]
        plain = [n for n, u in self._units.items() if is_dimensionless(u)]
        lines += [f"  dimensionless: {', '.join(plain)}"] if plain else []
        return "\n".join(lines)

    def _repr_latex_(self) -> str:
        """Jupyter: the equations as declared, then each input with its bounds (display.relation_latex)."""
        return f"$${relation_latex(self)}$$"


def _listify(v) -> list:
    if isinstance(v, (list, tuple)):
        return list(v)
    return [v]


def _as_equations(equations, problems: list[str], bare: list[int]) -> list[sp.Equality]:
    """The equations; a bare expression is read as expression = 0 (its index goes in `bare`)."""
    out = []
    for i, e in enumerate(_listify(equations)):
        if isinstance(e, sp.Equality):
            out.append(e)
        elif isinstance(e, sp.Expr):
            bare.append(len(out))
            out.append(sp.Eq(e, 0, evaluate=False))
        elif e is sp.true or e is sp.false or isinstance(e, bool):
            problems.append(
                f"equation {i + 1} evaluated to {e} before it reached surrogate; build it with sp.Eq(lhs, rhs) on symbols"
            )
        else:
            problems.append(f"equation {i + 1} is {e!r}, not a SymPy equation; use sp.Eq(lhs, rhs)")
    if not out and not problems:
        problems.append("no equations given")
    return out


def _no_output(eqs, bare: list[int], bounds: Mapping) -> str:
    """Why the equations have no output, naming what the declaration says the output is."""
    lone = [side.name for e in eqs for side in (e.lhs, e.rhs) if side.is_Symbol and side.name in bounds]
    if lone:
        o = lone[0]
        one = len(set(lone)) == 1
        return (f"{', '.join(dict.fromkeys(lone))} {'has' if one else 'have'} bounds, so "
                f"{'it is read as an input' if one else 'they are read as inputs'}, and the equations have no "
                f"output; drop {o} from bounds (an output's expected range goes in outputs={{{o}: (low, high)}})")
    if bare:
        e = eqs[bare[0]].lhs
        return (f"equation {bare[0] + 1} is the bare expression {e}, which names no output (every symbol in it "
                f"has bounds or is a parameter); write sp.Eq(y, {e}) with y the output's symbol")
    return ("the equations have no output: every free symbol has bounds or is a parameter; give the output a "
            "symbol without bounds, sp.Eq(y, formula)")


def _unbounded(eqs, outs: list[str]) -> list[str]:
    """The unknowns that stand beside a lone unknown (``Nu = f(Re, Pr)`` with Pr unbounded: Pr),
    in declaration order; [] where no equation has a lone unknown on one side."""
    lone = {side.name for e in eqs for side in (e.lhs, e.rhs) if side.is_Symbol and side.name in outs}
    return [n for n in outs if n not in lone] if lone else []


def _symbols_of(eqs: Iterable[sp.Equality]) -> dict[str, sp.Symbol]:
    out: dict[str, sp.Symbol] = {}
    for e in eqs:
        for s in sorted(e.free_symbols, key=lambda s: s.name):
            out.setdefault(s.name, s)
    return out


def _pair(name: str, pair, problems: list[str], symbols: dict, what: str):
    given = pair
    if getattr(pair, "ndim", None) == 1 and hasattr(pair, "tolist"):  # a NumPy array (or tensor) of two
        pair = pair.tolist()
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        problems.append(f"bounds of {what} {name} must be a (low, high) pair, not {given!r}")
        return None
    out = []
    for side, v in zip(("low", "high"), pair):
        try:
            e = sp.sympify(v, locals=symbols) if isinstance(v, str) else sp.sympify(v)
        except (sp.SympifyError, TypeError, SyntaxError):
            problems.append(f"{side} bound of {name} is {v!r}, not a number or SymPy expression")
            return None
        if e.free_symbols:
            # map same-named symbols to the relation's own so assumptions cannot split them
            e = e.subs({s: symbols[s.name] for s in e.free_symbols if s.name in symbols})
        elif not (e.is_real and e.is_finite) or not math.isfinite(float(e)):
            problems.append(f"{side} bound of {name} is {v!r}; bounds must be finite real numbers")
            return None
        out.append(e)
    return tuple(out)


def _name_problems(name: str) -> list[str]:
    """The artifact's rule for names, applied at declaration (trees.name_problem)."""
    why = name_problem(name)
    return [f"symbol name {name!r} {why}; rename the symbol"] if why else []


def _sign_assumptions(lo: float, hi: float) -> dict[str, bool]:
    if lo > 0:
        return {"positive": True}
    if lo >= 0:
        return {"nonnegative": True}
    if hi < 0:
        return {"negative": True}
    if hi <= 0:
        return {"nonpositive": True}
    return {}


def _real_symbols(symbols: dict[str, sp.Symbol], domain, parameters: dict, declared: dict) -> dict[str, sp.Symbol]:
    """A real symbol per name, positive (or negative) where its range says so."""
    ranges: dict[str, tuple[float, float]] = {}
    if domain is not None:
        ranges.update({spec.name: spec.range for spec in domain.inputs})
    ranges.update(parameters)
    ranges.update({k: v for k, v in declared.items() if v is not None})
    out = {}
    for n in symbols:
        lo, hi = ranges.get(n, (-math.inf, math.inf))
        out[n] = sp.Symbol(n, real=True, **_sign_assumptions(lo, hi))
    return out


def _replace(expr, real: dict[str, sp.Symbol]):
    """`expr` with its symbols replaced by the relation's real symbols of the same names."""
    if not isinstance(expr, sp.Basic) or not expr.free_symbols:
        return expr
    return expr.xreplace({s: real[s.name] for s in expr.free_symbols if s.name in real})
