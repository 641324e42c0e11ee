"""The formula's own groups as network features: what `CompiledRelation` finds in a relation's
formulas (docs/architecture.md, "Heads and features from the formula"); model/scaling.choose_features
turns them into features."""

from __future__ import annotations

import numpy as np
import sympy as sp

from .compile import compile_expr

__all__ = ["MAX_GROUPS", "feature_groups", "structure_parts", "values_at"]


def values_at(expr: sp.Expr, cols: dict[str, np.ndarray]) -> np.ndarray:
    """expr at the columns `cols`, float64, broadcast to their length."""
    n = len(next(iter(cols.values())))
    return np.broadcast_to(np.asarray(compile_expr(expr, "numpy")(cols), dtype=np.float64), (n,))


#: At most this many structural features (the formula's own groups) per relation.
MAX_GROUPS = 6


def _reaches_zero(g: sp.Expr, cols: dict[str, np.ndarray]) -> bool:
    """Whether g is >= 0 on the probe and exactly 0 somewhere on it (a face or a corner)."""
    if not g.free_symbols:
        return False
    with np.errstate(all="ignore"):
        v = values_at(g, cols)
    return bool(np.all(np.isfinite(v)) and v.min() == 0.0)


def _made_of(e: sp.Expr, inputs: set[str]) -> bool:
    """Whether e has symbols and every one of them is an input."""
    return bool(e.free_symbols) and {s.name for s in e.free_symbols} <= inputs


def structure_parts(expr: sp.Expr, inputs: set[str]) -> list[sp.Expr]:
    """The parts of a formula made of inputs alone, by arithmetic, exp and log, that the formula
    combines with something else, numeric factors dropped: a sum raised to an integer power (the resistance in
    sigma (T1^4 - T2^4) / (1/eps1 + 1/F12 + ...)), and in an implicit relation's residual, the
    inputs' own factor of a product with outputs (L / D^5 in f L Q^2 / D^5) and their own terms
    of a sum with outputs (H0 - dz in H0 - k Q^2 - dz - ...).  On a four-input pump-pipe system,
    log features of such parts took 200 LM steps from a mean error of 1.5e-4 to 4e-5
    (docs/architecture.md, "Heads and features from the formula")."""
    out: list[sp.Expr] = []

    def own(e: sp.Expr) -> bool:
        return _made_of(e, inputs)

    def elementary(e: sp.Expr) -> bool:  # cheap, and exported alike by every backend (ONNX has no Bessel I)
        return all(isinstance(f, (sp.exp, sp.log)) for f in e.atoms(sp.Function))

    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Pow) and node.exp.is_integer and node.exp != 1 and isinstance(node.base, sp.Add) \
                and own(node.base) and elementary(node.base):
            out.append(node.base)
        elif isinstance(node, (sp.Mul, sp.Add)) and not own(node) and node.free_symbols:
            parts = [a for a in node.args if own(a)]
            if not parts:
                continue
            g = sp.Mul(*parts) if isinstance(node, sp.Mul) else sp.Add(*parts, *[a for a in node.args if a.is_number])
            if isinstance(g, sp.Mul):
                g = g.as_coeff_Mul()[1]
            if own(g) and elementary(g):
                out.append(g)
    return out


def _same_log(g: sp.Expr, h: sp.Expr) -> bool:
    """Whether log g and log h differ by a constant factor and offset only (1/(x + 1), x + 1 and
    2 (x + 1)**3 make one feature)."""
    def core(e: sp.Expr) -> sp.Expr:
        e = sp.factor_terms(e).as_coeff_Mul()[1]
        while isinstance(e, sp.Pow) and e.exp.is_number:
            e = sp.factor_terms(e.base).as_coeff_Mul()[1]
        return e

    return core(g) == core(h)


def feature_groups(rel, cols: dict[str, np.ndarray]) -> list[tuple[sp.Expr, bool]]:
    """The formula's own dimensionless groups, as (expression, log) feature candidates.

    The argument g of exp is a feature as it is (exp is linear in g); the argument of
    log and the base of a non-integer power enter through log g (g**p = exp(p log g)),
    except a base that reaches 0 on a face under a positive power: there the power
    g**p itself is the feature (sqrt(Re) from Re = 0).
    After them come the formula's structure parts (structure_parts), through their log where
    positive, one per part up to a constant factor and power (_same_log).
    Groups that the input features already carry are skipped: a single input, and a
    monomial of log-scaled inputs inside log or a power (its log is linear in theirs; of any
    positive input for the structure parts and an implicit relation's groups).
    Groups must be finite on the probe, positive where a log is taken, and not
    constant.  docs/architecture.md says what they measured.
    """
    inputs = set(rel.inputs)
    log_scaled = {s.name for s in rel.domain.inputs if s.scale == "log"}
    found: dict[sp.Expr, bool] = {}
    values: dict[sp.Expr, np.ndarray] = {}  # each group's values on the probe, computed once

    def at(g: sp.Expr) -> np.ndarray:
        if g not in values:
            with np.errstate(all="ignore"):
                values[g] = values_at(g, cols)
        return values[g]

    # every positive input has a log feature (model/scaling.choose_features); the first groups of an
    # explicit relation below skip only monomials of log-scaled inputs, as when the input features
    # were logs of those alone, so that the group indices saved surrogates record keep their meaning
    # (implicit relations had no groups before)
    positive = {s.name for s in rel.domain.inputs if s.range[0] > 0}

    def monomial_of_logs(g: sp.Expr, logs: set[str] = log_scaled) -> bool:
        for f in sp.Mul.make_args(g):
            base = f.base if isinstance(f, sp.Pow) and f.exp.is_number else f
            if base.is_number:
                continue
            if not (base.is_Symbol and base.name in logs):
                return False
        return True

    formulas = [rel.expression(o) for o in rel.outputs] if rel.is_explicit else list(rel.residuals)
    for formula in formulas:
        for node in sp.preorder_traversal(formula):
            if isinstance(node, sp.exp):
                g, use_log = node.args[0], False
            elif isinstance(node, sp.log):
                g, use_log = node.args[0], True
            elif isinstance(node, sp.Pow) and node.exp.is_number and not node.exp.is_integer:
                g, use_log = node.base, True
                if node.exp > 0 and _made_of(g, inputs) and _reaches_zero(g, cols):
                    # sqrt(Re) from Re = 0 (Ranz-Marshall): no log there, and an infinite slope
                    # no scaled input resolves; the power itself is smooth in the output
                    g, use_log = node, False
            else:
                continue
            if not _made_of(g, inputs) or g.is_Symbol:
                continue
            if use_log and monomial_of_logs(g, log_scaled if rel.is_explicit else positive):
                continue
            found.setdefault(g, use_log)
    # appended after the groups above, so that the group indices a saved surrogate records keep
    # their meaning: the formula's parts made of inputs alone (structure_parts), through their log
    # where they stay positive
    for formula in formulas:
        for g in structure_parts(formula, inputs):
            if g.is_Symbol or g in found or any(_same_log(g, h) for h in found):
                continue
            use_log = bool(np.all(at(g) > 0))
            if use_log and monomial_of_logs(g, positive):
                continue
            found[g] = use_log
    out = []
    for g, use_log in found.items():
        v = at(g)
        if not np.all(np.isfinite(v)) or (use_log and not np.all(v > 0)):
            continue
        t = np.log(v) if use_log else v
        if float(t.max() - t.min()) <= 1e-9 * max(1.0, float(np.abs(t).max())):
            continue
        out.append((g, use_log))
        if len(out) == MAX_GROUPS:
            break
    return out
