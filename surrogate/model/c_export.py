"""Export a surrogate to one dependency-free C99 file (libm only).

    model.export_c("gnielinski.c")                         # a Surrogate or PiecewiseSurrogate
    c_export.export_artifact("f.surrogate", "f.c")           # from a saved file, without torch
    surrogate export gnielinski --c gnielinski.c             # the command line

The file holds everything the NumPy runtime (`model/runtime.py`) evaluates, read from the
same manifest parts (`format.model_parts`, `format.piece_parts`): the domain check (bounds
that are SymPy expressions of other inputs printed with `sympy.ccode`), the features (group
features too), the network (weights as ``static const`` arrays), the heads, and for a
piecewise model the dispatch by the pieces' regions (`declaration.pieces.assign`) and the
constant pieces.  Its header comment gives the formula, the domain and the certificate.

Entry points of a file made with ``name="NAME"`` (inputs and outputs in the order of the
header comment, rows of the batch one after the other)::

    int  NAME_eval(const double *x, double *y);           /* NAME_OK (0) or a nonzero code */
    int  NAME_eval_batch(size_t n, const double *x, double *y, int *status);
    int  NAME_check(const double *x);                     /* the domain check alone */
    void NAME_eval_unchecked(const double *x, double *y); /* no check: extrapolates */

The codes: NAME_OK 0, NAME_NAN 1 (an input is NaN), NAME_OUTSIDE 2 (outside the domain),
NAME_NOT_FINITE 3 (the value is not finite); `NAME_eval` writes NaN to y for codes 1 and 2.

Precision: features and heads are always computed in double; the network runs in double
for ``precision="float64"`` (the default: the numbers the torch model, the NumPy runtime and
the certificate use, to ~1e-12) or in float for ``precision="float32"`` (weights and arithmetic;
a network trained in float64, as the shipped ones are, has its weights rounded to float).  Float
adds its rounding, 1e-7 to 3e-6 of the output through the heads on the shipped catalogue: more
than the max error of a surrogate certified tighter than that, which the header then says.
(`runtime.load(precision="float32")` runs it in float32 too, and warns for such a surrogate.)

Speed: `NAME_eval_batch` runs each network over blocks of BLOCK points (the layers' loops with the
point index innermost, the file's own branch-free tanh), which a compiler vectorises given
``-O3 -march=native -ffp-contract=fast`` (C99 mode turns off the fused multiply-adds that
-ffp-contract=fast allows; -ffast-math is not needed, and would break the NaN checks); at -O2 the
file is as correct and slower.  bench/speed.py measures it beside the other runtimes.

Expressions are printed only from the functions C99's math.h has (`C_FUNCTIONS`); a bound or
a group feature using another one (a Bessel function, LambertW, ...) raises
UnsupportedExpressionError naming it.  Constant sub-expressions are folded to doubles first,
as `declaration/compile.py` folds them (C99 has no M_PI).  Importing this module does not
import torch.
"""

from __future__ import annotations

import math
import os
import re
import textwrap
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.c import C99CodePrinter

from .._version import __version__
from ..errors import UnsupportedExpressionError
from . import format as fmt
from .c_blocks import BLOCK, LOG_EXP, TANH, batch, dense, lanes_fn

__all__ = ["C_ACTIVATIONS", "C_FUNCTIONS", "F32_ROUNDING", "PRECISIONS", "c_source_of", "export_artifact", "export_model"]

PRECISIONS = ("float64", "float32")
#: What running the network in float adds to a prediction's error, at most, measured on the shipped
#: catalogue (2.3e-6, grey_two_surface_exchange) with a margin: a certificate below it does not
#: cover the float file (tests/test_c_export.py checks the bound).
F32_ROUNDING = 5e-6

#: SymPy classes printed to C99 (math.h) and what they become; anything else in a bound or a
#: group feature is refused (no Bessel, LambertW, polygamma, erfinv, Heaviside, Mod in C99).
C_FUNCTIONS: dict[type, str] = {
    sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos", sp.tan: "tan", sp.asin: "asin",
    sp.acos: "acos", sp.atan: "atan", sp.atan2: "atan2", sp.sinh: "sinh", sp.cosh: "cosh",
    sp.tanh: "tanh", sp.asinh: "asinh", sp.acosh: "acosh", sp.atanh: "atanh", sp.Abs: "fabs",
    sp.floor: "floor", sp.ceiling: "ceil", sp.erf: "erf", sp.erfc: "erfc", sp.gamma: "tgamma",
    sp.loggamma: "lgamma", sp.Max: "fmax", sp.Min: "fmin", sp.sign: "((x > 0) - (x < 0))",
}
_STRUCTURE = (sp.Add, sp.Mul, sp.Pow, sp.Piecewise, sp.And, sp.Or, sp.Not, sp.core.relational.Relational)

#: The activations in C: (double form, float form) of `h`, as `runtime.py`'s NumPy forms compute
#: them (GELU in double either way, as the runtime does); {p} is the file's prefix.
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
C_ACTIVATIONS: dict[str, tuple[str, str]] = {
    "silu": ("h / (1.0 + exp(-h))", "h / (1.0f + expf(-h))"),
    "gelu": (f"0.5 * h * (1.0 + erf(h * {_INV_SQRT2!r}))",
             f"(float)(0.5 * (double)h * (1.0 + erf((double)h * {_INV_SQRT2!r})))"),
    "tanh": ("{p}_fast_tanh_d(h)", "{p}_fast_tanh_f(h)"),  # the file's own branch-free tanh (c_blocks.TANH), not libm's
    "relu": ("h < 0.0 ? 0.0 : h", "h < 0.0f ? 0.0f : h"),  # NaN stays NaN, as np.maximum keeps it
}




# -- what a file is made from ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Network:
    """One network with its scaling: the parts `format.model_parts` checks."""

    relation: Any  # its relation (a piece's sub-relation): inputs, domain bounds, feature groups
    features: list[dict]
    heads: list[dict]
    config: dict[str, Any]  # n_in, n_out, width, depth, activation, skip, dtype
    weights: dict[str, np.ndarray]  # hidden.{2i}.weight/bias, last.weight/bias, skip.weight


def _artifact_parts(manifest: dict, tensors: dict[str, np.ndarray]):
    """(relation, [network or constant values per piece], pieces or None, certificate) of a read
    artifact.  The pieces are the manifest's: a file of one network keeps it for a relation that
    this version splits into pieces (a file written before pieces existed), as `runtime.load` does."""
    cert = fmt.certificate(manifest)
    if "pieces" in manifest:
        relation, parts = fmt.piece_parts(manifest, tensors)
        nets = [tuple(p.constant) if part is None else _Network(p.relation, part[0], part[1], part[2], part[3])
                for p, part in zip(relation.pieces, parts)]
        return relation, nets, relation.pieces, cert
    relation, feats, heads, cfg = fmt.model_parts(manifest, tensors)
    return relation, [_Network(relation, feats, heads, cfg, tensors)], None, cert


def _model_parts(model):
    """The same parts from a model in memory: a Surrogate or PiecewiseSurrogate (as `save` writes
    them), or the NumPy runtime's Runtime or PiecewiseRuntime (its weights as the file stores them)."""

    def network(m) -> _Network:
        if hasattr(m, "module"):  # the torch model
            net = m.module.net
            weights = {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}
            return _Network(m.relation, m.module.feature_specs, m.module.head_specs, fmt.network_entry(net, m.dtype),
                            weights)
        # the NumPy runtime, whose network entry has the precision it evaluates in: the stored
        # weights' dtype is the one it was trained in (the header says it)
        cfg = {**m.network, "dtype": str(m.weights["last.weight"].dtype)}
        return _Network(m.relation, m.feature_specs, m.head_specs, cfg, m.weights)

    members = getattr(model, "models", None) or getattr(model, "runtimes", None)
    if getattr(model, "pieces", None) is not None and members is not None:
        # a constant piece (piecewise.ConstantPiece) has its values and no relation
        nets = [tuple(float(v) for v in m.values) if hasattr(m, "values") else network(m) for m in members]
        return model.relation, nets, model.pieces, model.certificate
    return model.relation, [network(model)], None, model.certificate


# -- entry points ----------------------------------------------------------------------------------
def export_artifact(artifact, path, *, precision: str = "float64", name: str | None = None) -> str:
    """Write the C file of a saved surrogate (a path) to `path`; returns the C name used.

    Reads the file through `format.read`, as `runtime.load` does (no torch)."""
    manifest, tensors = fmt.read(artifact)
    relation, nets, pieces, cert = _artifact_parts(manifest, tensors)
    if name is None:
        name = relation.name or os.path.splitext(os.path.basename(os.fspath(path)))[0]
    _write(path, c_source_of(relation, nets, pieces, cert, name=name, precision=precision,
                             origin=os.path.basename(os.fspath(artifact))))
    return c_name(name)


def export_model(model, path, *, precision: str = "float64", name: str | None = None) -> str:
    """Write the C file of a model in memory (Surrogate, PiecewiseSurrogate, or the NumPy runtime's
    Runtime or PiecewiseRuntime) to `path`; returns the C name used."""
    relation, nets, pieces, cert = _model_parts(model)
    if name is None:
        name = relation.name or os.path.splitext(os.path.basename(os.fspath(path)))[0]
    _write(path, c_source_of(relation, nets, pieces, cert, name=name, precision=precision))
    return c_name(name)


def _write(path, text: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(text)


def c_name(name: str) -> str:
    """A C identifier from a relation or file name: ASCII letters, digits and underscores."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name.encode("ascii", "replace").decode()).strip("_") or "surrogate"
    return ident if not ident[0].isdigit() else "s_" + ident


# -- expressions -----------------------------------------------------------------------------------
class _Printer(C99CodePrinter):
    """sympy.ccode with the inputs' C names, exact double literals and no stdbool or M_ macros."""

    def __init__(self, names: dict[str, str]):
        super().__init__({"math_macros": {}, "strict": True})
        self._names = names

    def _print_Symbol(self, expr):
        return self._names[expr.name]

    def _print_Float(self, flt):
        return _lit(float(flt))

    def _print_BooleanTrue(self, expr):
        return "1"

    def _print_BooleanFalse(self, expr):
        return "0"

    def _print_NaN(self, expr):
        return "NAN"

    def _print_Piecewise(self, expr):
        if expr.args[-1].cond != True:  # noqa: E712 - SymPy's true; outside every piece: NaN, as compile.py
            expr = sp.Piecewise(*expr.args, (sp.nan, True))
        return super()._print_Piecewise(expr)


def _fold(expr: sp.Basic) -> sp.Basic:
    """Every constant sub-expression that is not a plain number (pi, sqrt(2), log(10)) as one
    double, as `compile._const` folds it (evalf at 30 digits, then rounded once)."""
    todo = {}

    def walk(e):
        if isinstance(e, sp.Number) or isinstance(e, sp.logic.boolalg.BooleanAtom):
            return
        if isinstance(e, sp.Expr) and not e.free_symbols and e.is_number:
            value = complex(e.evalf(30))
            if value.imag != 0.0:
                raise UnsupportedExpressionError(f"C export: the constant {e} is not real ({value})")
            todo[e] = sp.Float(value.real)
            return
        for a in e.args:
            walk(a)

    walk(expr)
    return expr.xreplace(todo) if todo else expr


def _check_functions(expr: sp.Basic, where: str) -> None:
    bad = set()
    for node in sp.preorder_traversal(expr):
        if node.is_Atom or isinstance(node, sp.functions.elementary.piecewise.ExprCondPair):
            continue
        if type(node) in C_FUNCTIONS or isinstance(node, _STRUCTURE):
            continue
        bad.add(type(node).__name__)
    if bad:
        raise UnsupportedExpressionError(
            f"C export: {where} uses {', '.join(sorted(bad))}, which C99's math.h does not have; the C export "
            f"prints only {', '.join(sorted({c.__name__ for c in C_FUNCTIONS}))} (and + - * / powers, "
            "comparisons, Piecewise)")


def _expr(expr: sp.Basic, names: dict[str, str], where: str) -> str:
    """C for a SymPy expression of the inputs (whose C names `names` gives)."""
    expr = _fold(sp.sympify(expr))
    _check_functions(expr, where)
    if not expr.free_symbols:
        return _lit(float(expr))
    try:
        text = _Printer(names).doprint(expr)
    except Exception as e:  # PrintMethodNotImplementedError and kin: something the table let through
        raise UnsupportedExpressionError(f"C export: cannot print {where} ({expr}) as C99: {e}") from None
    return " ".join(text.split())  # Piecewise prints over several lines


def _lit(v: float, suffix: str = "") -> str:
    """A C literal that reads back as exactly the double (or float) v."""
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "HUGE_VAL" if v > 0 else "(-HUGE_VAL)"
    r = repr(float(v))
    if "e" not in r and "." not in r:
        r += ".0"
    return r + suffix


def _var(name: str, k: int) -> str:
    """The C name of input `name` (column k): in_<name> when it is an ASCII identifier."""
    return f"in_{name}" if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) else f"in{k}"


# -- the file --------------------------------------------------------------------------------------
def c_source_of(relation, nets: list, pieces, certificate, *, name: str, precision: str = "float64",
                origin: str | None = None) -> str:
    """The C99 source of a model given as (relation, networks or constant values, the pieces they
    are of or None for one network, certificate)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    ident = c_name(name)
    up = ident.upper()
    inputs, outputs = list(relation.inputs), list(relation.outputs)
    out: list[str] = [_header(relation, nets, pieces, certificate, ident, precision, origin)]
    out.append("#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n")
    out.append(f"#define {up}_N_INPUTS {len(inputs)}\n#define {up}_N_OUTPUTS {len(outputs)}\n"
               f"#define {up}_OK 0\n#define {up}_NAN 1\n#define {up}_OUTSIDE 2\n#define {up}_NOT_FINITE 3\n")
    out.append(f"const char *const {ident}_inputs[{len(inputs)}] = {{{', '.join(_cstr(n) for n in inputs)}}};\n"
               f"const char *const {ident}_outputs[{len(outputs)}] = {{{', '.join(_cstr(n) for n in outputs)}}};\n")
    out.append(f"int {ident}_check(const double *x);\nvoid {ident}_eval_unchecked(const double *x, double *y);\n"
               f"int {ident}_eval(const double *x, double *y);\n"
               f"int {ident}_eval_batch(size_t n, const double *x, double *y, int *status);\n")
    types = sorted({_net_type(n, precision) for n in nets if isinstance(n, _Network)})
    out.append(LOG_EXP.replace("{p}", ident))
    for t in types:
        out.append(dense(ident, t, 1))
    for act, t in sorted({(n.config["activation"], _net_type(n, precision)) for n in nets if isinstance(n, _Network)}):
        if act == "tanh":
            out.append(TANH[t].replace("{p}", ident))
        body = C_ACTIVATIONS[act][0 if t == "double" else 1].replace("{p}", ident)
        out.append(f"static inline {t} {ident}_{act}_{t[0]}({t} h)\n{{\n    return {body};\n}}\n")
    for k, n in enumerate(nets):
        if isinstance(n, _Network):
            out.append(_network(ident, k, n, precision))
    out.append(_check(ident, relation))
    out.append(_dispatch(ident, relation, nets, pieces))
    out.append(_eval(ident, len(inputs), len(outputs)))
    plans = [("net", _net_type(n, precision), list(pieces[k].columns) if pieces else list(range(len(inputs))))
             if isinstance(n, _Network) else ("const", [_lit(v) for v in n], all(math.isfinite(v) for v in n))
             for k, n in enumerate(nets)]
    out.append(batch(ident, len(inputs), len(outputs), plans, bool(pieces)))
    return "\n".join(out)


def _net_type(n: _Network, precision: str) -> str:
    return "double" if precision == "float64" else "float"


def _cstr(s: str) -> str:
    return '"' + "".join(c if c.isascii() and c.isprintable() and c not in '"\\?' else f"\\{ord(c) & 0xFF:03o}"
                         if ord(c) < 256 else "_" for c in s) + '"'


def _comment(text: str) -> str:
    """Text safe inside a C comment: ASCII, no comment delimiters, no trigraphs."""
    text = text.encode("ascii", "backslashreplace").decode()
    return text.replace("*/", "* /").replace("/*", "/ *").replace("??", "? ?")


def _header(relation, nets, pieces, cert, ident: str, precision: str, origin: str | None) -> str:
    up = ident.upper()
    lines = [f"{ident}: {relation.name or 'a relation'}, a neural surrogate of the formula below, exported by "
             f"surrogate {__version__}" + (f" from {origin}" if origin else "") + ".", "", "Formula:"]
    for eq in relation.equations:
        lines += _wrap(f"{eq.lhs} = {eq.rhs}", "  ", "      ")
    lines += ["", f"Inputs, x[0..{len(relation.inputs) - 1}] (the domain: {ident}_eval refuses a point outside it):"]
    for k, s in enumerate(relation.domain.inputs):
        lines.append(f"  x[{k}] {s.name}: {_bound_text(s.low)} <= {s.name} <= {_bound_text(s.high)}")
    lines += ["", f"Outputs, y[0..{len(relation.outputs) - 1}]: " + ", ".join(relation.outputs)]
    if pieces:
        lines += ["", f"Pieces ({len(pieces)}; a point on a face between two goes to the first whose closed region "
                      "holds it):"]
        for p, n in zip(pieces, nets):
            what = ("the constant " + ", ".join(f"{v!r}" for v in n)) if not isinstance(n, _Network) else \
                f"a network of {', '.join(p.relation.inputs)}"
            lines.append(f"  piece {p.number}: {p.condition}: {what}")
    lines += ["", "Networks:"]
    for k, n in enumerate(nets):
        if isinstance(n, _Network):
            c = n.config
            lines.append(f"  network {k}: {len(n.features)} features, MLP {c['depth']}x{c['width']} {c['activation']}"
                         f"{' with a linear skip path' if c.get('skip') else ''}, trained in {c.get('dtype', 'float32')},"
                         f" evaluated here in {_net_type(n, precision)}; heads "
                         + ", ".join(f"{h['output']}: {h['kind']}" + (" (bounded)" if "bound" in h else "")
                                     for h in n.heads))
    lines += [f"Precision ({precision}): features and heads in double, the network as said above.", ""]
    lines += _certificate_lines(cert, precision)
    lines += ["", "Entry points (C99, libm only; e.g. cc -std=c99 -O3 -march=native -ffp-contract=fast -c FILE.c, link",
              "with -lm; those flags let the compiler vectorise eval_batch's blocks of points, and any C99 compiler",
              "and flags give the same numbers to rounding; no -ffast-math, which would break the NaN checks):",
              f"  int  {ident}_eval(const double *x, double *y);",
              f"       {up}_OK (0), or {up}_NAN (1: an input is NaN), {up}_OUTSIDE (2: outside the domain),",
              f"       both with y set to NaN, or {up}_NOT_FINITE (3: the value is not finite)",
              f"  int  {ident}_eval_batch(size_t n, const double *x, double *y, int *status);",
              "       n rows of x (row-major, n x inputs) to y (n x outputs); status[i] per row if status is",
              "       not NULL; returns 0 when every row is OK, else the code of the first row that is not",
              f"  int  {ident}_check(const double *x);   the domain check alone",
              f"  void {ident}_eval_unchecked(const double *x, double *y);   no check: extrapolates at your risk",
              f"  {ident}_inputs, {ident}_outputs: the names, in order"]
    body = "\n".join((" * " + _comment(line)).rstrip() for line in lines)
    return "/*\n" + body + "\n */\n"


def _wrap(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(text, 96, initial_indent=first, subsequent_indent=rest, break_long_words=False,
                         break_on_hyphens=False)


def _bound_text(e) -> str:
    return str(e) if e.free_symbols else f"{float(e):.12g}"


def _certificate_lines(cert, precision: str) -> list[str]:
    if cert is None:
        return ["Certificate: none (the model was saved without one; run surrogate.verify)."]
    lines = ["Certificate (sampled, not a proof unless a proof is listed):",
             f"  error definition: {cert.error}" + (f", atol = {cert.atol:g}" if cert.atol else ""),
             f"  max error {cert.max_error:.6g}, p99 {cert.p99_error:.6g}, mean {cert.mean_error:.6g}",
             f"  points: {cert.points} scrambled Sobol points, seed {cert.seed} (dense max {cert.dense_max_error:.6g})"]
    lines += _wrap(f"then a search: {cert.search.get('method', 'none')}", "  ", "    ")
    if cert.worst:
        lines += _wrap("worst at " + ", ".join(f"{k} = {v:.9g}" for k, v in cert.worst.items()), "  ", "    ")
    for o, d in cert.per_output.items():
        lines.append(f"  {o}: " + ", ".join(f"{k} {v:.4g}" for k, v in d.items()))
    for p in cert.pieces:
        lines.append(f"  piece {p['piece']} ({p['condition']}): max {p['max_error']:.4g} ({p['points']} points)")
    if cert.residual:
        lines.append(f"  residual |r(x, y_hat)| / S_r: max {cert.residual['max']:.4g}")
    if cert.undefined_points:
        lines.append(f"  the formula is undefined at {cert.undefined_points} sampled points (excluded)")
    if cert.note:
        lines += _wrap(f"note: {cert.note}", "  ", "    ")
    if cert.proof:
        b = cert.proof.get("bound")
        lines.append(f"  proof: max error <= {b if b is None else f'{b:.4g}'} over the whole domain "
                     f"({cert.proof.get('status')})")
    if precision == "float64":
        lines.append("  The figures are of the network evaluated in double, as this file does.")
    else:
        lines += _wrap("The figures are of the network evaluated in double; this file runs it in float, which adds "
                       "float's rounding (1e-7 to 3e-6 of the output through the heads on the shipped catalogue)"
                       + (": MORE than the max error above, which this file does not meet; export in float64 for it."
                          if cert.max_error < F32_ROUNDING else "."), "  ", "  ")
    return lines


def _array(name: str, a: np.ndarray, t: str) -> str:
    suffix = "f" if t == "float" else ""
    vals = [_lit(float(v), suffix) for v in np.asarray(a, dtype=np.float64).reshape(-1)]
    rows = [", ".join(vals[i : i + 6]) for i in range(0, len(vals), 6)]
    return f"static const {t} {name}[{len(vals)}] = {{\n    " + ",\n    ".join(rows) + "\n};\n"


def _bound_code(relation, k: int, which: str, names: dict[str, str]) -> tuple[str, bool]:
    """(C of input k's low or high bound, whether it is a constant)."""
    spec = relation.domain.inputs[k]
    e = spec.low if which == "low" else spec.high
    if not e.free_symbols:
        return _lit(float(e)), True
    return "(" + _expr(e, names, f"the {which} bound of {spec.name}") + ")", False


def _network(ident: str, k: int, n: _Network, precision: str) -> str:
    t = _net_type(n, precision)
    cfg, w = n.config, n.weights
    rel = n.relation
    inputs = list(rel.inputs)
    names = {nm: _var(nm, j) for j, nm in enumerate(inputs)}
    p = f"{ident}_n{k}"
    parts: list[str] = []
    for i in range(cfg["depth"]):
        parts.append(_array(f"{p}_w{i}", w[f"hidden.{2 * i}.weight"], t))
        parts.append(_array(f"{p}_b{i}", w[f"hidden.{2 * i}.bias"], t))
    parts.append(_array(f"{p}_wl", w["last.weight"], t))
    parts.append(_array(f"{p}_bl", w["last.bias"], t))
    if cfg.get("skip"):
        parts.append(_array(f"{p}_ws", w["skip.weight"], t))
    used = set()
    feats = []
    for i, f in enumerate(n.features):
        col = inputs.index(f["input"])
        v = names[f["input"]]
        used.add(f["input"])
        kind = f["kind"]
        if kind == "linear":
            feats.append(f"        t = {v};")
        elif kind == "log":
            feats.append(f"        t = {ident}_log_d({v});")
        elif kind in ("edge", "log_edge"):
            spec = rel.domain.inputs[col]
            lo, lo_const = _bound_code(rel, col, "low", names)
            hi, hi_const = _bound_code(rel, col, "high", names)
            used |= {s.name for s in spec.low.free_symbols | spec.high.free_symbols}
            if kind == "log_edge":  # domain.edge_distance in log distance; a constant bound's log as Python takes it
                llo = _lit(math.log(float(spec.low))) if lo_const else f"log{lo}"
                lhi = _lit(math.log(float(spec.high))) if hi_const else f"log{hi}"
                near = f"({lhi} - {ident}_log_d({v}))" if f["side"] == "high" else f"({ident}_log_d({v}) - {llo})"
                feats.append(f"        t = {near} / ({lhi} - {llo});")
            else:
                near = f"({hi} - {v})" if f["side"] == "high" else f"({v} - {lo})"
                feats.append(f"        t = {near} / ({hi} - {lo});")
            feats.append("        t = t < 0.0 ? 0.0 : t;  /* a hair outside (rounding) gives no log of a negative */")
            feats.append(f"        t = {ident}_log_d(t + {_lit(f['delta'])});")
        elif kind == "group":
            g, use_log = rel.program.feature_groups[int(f["index"])]
            e = sp.log(g) if use_log else g
            used |= {s.name for s in e.free_symbols}
            feats.append(f"        t = {_expr(e, names, f'the group feature {g}')};")
        else:
            raise ValueError(f"unknown feature kind {kind!r}")
        feats.append(f"        f[{i} * L + p] = 2.0 * (t - {_lit(f['lo'])}) / ({_lit(f['hi'])} - {_lit(f['lo'])}) - 1.0;")
    reads = [f"        const double {names[nm]} = x[p * {len(inputs)} + {j}];" for j, nm in enumerate(inputs) if nm in used]
    heads = []
    for j, h in enumerate(n.heads):
        ch = h["channels"]
        n0 = f"(double)o[{ch[0]} * L + p]"
        if "bound" in h:
            b = _lit(h["bound"])
            n0 = f"{b} * tanh({n0} / {b})"
        y = f"y[p * {len(n.heads)} + {j}]"
        if h["kind"] == "linear":
            heads.append(f"        {y} = {_lit(h['a'])} + {_lit(h['b'])} * ({n0});")
        elif h["kind"] == "log":
            heads.append(f"        {y} = {_lit(h['sign'])} * {ident}_exp_d({_lit(h['a'])} + {_lit(h['b'])} * ({n0}));")
        elif h["kind"] == "signed_log":
            heads.append(f"        {y} = {ident}_exp_d({_lit(h['ap'])} + {_lit(h['bp'])} * ({n0})) - "
                         f"{ident}_exp_d({_lit(h['an'])} + {_lit(h['bn'])} * (double)o[{ch[1]} * L + p]);")
        else:
            raise ValueError(f"unknown head kind {h['kind']!r}")
    fns = [lanes_fn(ident, p, cfg, t, lanes, reads, feats, heads) for lanes in (1, BLOCK[t])]
    return "".join(parts) + f"\n/* network {k}: inputs {_comment(', '.join(inputs))} */\n" + "\n".join(fns)


def _check(ident: str, relation) -> str:
    up = ident.upper()
    inputs = list(relation.inputs)
    names = {nm: _var(nm, j) for j, nm in enumerate(inputs)}
    body = [f"    for (int k = 0; k < {len(inputs)}; ++k)\n        if (isnan(x[k]))\n            return {up}_NAN;"]
    used = set()
    tests = []
    for k, s in enumerate(relation.domain.inputs):
        lo, _ = _bound_code(relation, k, "low", names)
        hi, _ = _bound_code(relation, k, "high", names)
        used |= {s.name} | {v.name for v in (s.low.free_symbols | s.high.free_symbols)}
        tests.append(f"    if (!({names[s.name]} >= {lo} && {names[s.name]} <= {hi}))\n        return {up}_OUTSIDE;")
    body += [f"    const double {names[nm]} = x[{j}];" for j, nm in enumerate(inputs) if nm in used]
    body += tests + [f"    return {up}_OK;"]
    return f"int {ident}_check(const double *x)\n{{\n" + "\n".join(body) + "\n}\n"


def _dispatch(ident: str, relation, nets: list, pieces) -> str:
    """eval_unchecked: the one network, or the piece's (declaration.pieces.assign's rule)."""
    head = f"void {ident}_eval_unchecked(const double *x, double *y)\n{{\n"
    if not pieces:
        return head + f"    {ident}_n0_eval(x, y);\n}}\n"
    inputs = list(relation.inputs)

    def cond(p, closed: bool) -> str:
        parts = []
        for nm, (lo, hi, lc, hc) in p.region.items():
            v = f"x[{inputs.index(nm)}]"
            parts.append(f"{v} {'>=' if lc or closed else '>'} {_lit(lo)}")
            parts.append(f"{v} {'<=' if hc or closed else '<'} {_lit(hi)}")
        return " && ".join(parts) or "1"

    fn = [f"static int {ident}_piece(const double *x)\n{{"]
    fn.append("    /* the first piece whose region holds x, as the formula's conditions read; else (a face between"
              "\n       pieces) the first whose closed region does; else the first */")
    for closed in (False, True):
        for k, p in enumerate(pieces):
            fn.append(f"    if ({cond(p, closed)})\n        return {k};")
    fn.append("    return 0;\n}\n")
    cases = []
    for k, (p, n) in enumerate(zip(pieces, nets)):
        if not isinstance(n, _Network):
            sets = " ".join(f"y[{j}] = {_lit(v)};" for j, v in enumerate(n))
            cases.append(f"    case {k}:  /* {_comment(p.condition)}: a constant */\n        {sets}\n        return;")
        elif list(p.columns) == list(range(len(inputs))):
            cases.append(f"    case {k}:  /* {_comment(p.condition)} */\n        {ident}_n{k}_eval(x, y);\n        return;")
        else:
            sub = ", ".join(f"x[{c}]" for c in p.columns)
            cases.append(f"    case {k}: {{  /* {_comment(p.condition)}: inputs {', '.join(_comment(n) for n in p.relation.inputs)} */\n"
                         f"        const double s[{len(p.columns)}] = {{{sub}}};\n"
                         f"        {ident}_n{k}_eval(s, y);\n        return;\n    }}")
    return ("\n".join(fn) + "\n" + head + f"    switch ({ident}_piece(x)) {{\n" + "\n".join(cases)
            + "\n    default:\n        return;\n    }\n}\n")


def _eval(ident: str, d: int, m: int) -> str:
    up = ident.upper()
    return f"""int {ident}_eval(const double *x, double *y)
{{
    int s = {ident}_check(x);
    if (s != {up}_OK) {{
        for (int j = 0; j < {m}; ++j)
            y[j] = NAN;
        return s;
    }}
    {ident}_eval_unchecked(x, y);
    for (int j = 0; j < {m}; ++j)
        if (!isfinite(y[j]))
            return {up}_NOT_FINITE;
    return {up}_OK;
}}
"""
