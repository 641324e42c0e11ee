"""The honest baseline: a Chebyshev tensor interpolant beside the surrogate, on the catalogue.

    python bench/chebyshev.py                          # every catalogue relation with <= 3 inputs
    python bench/chebyshev.py --only haaland           # seconds
    python bench/chebyshev.py --degrees 8,16,32 --points 1000000 --surrogate DIR

For every relation of the catalogue (`equations.MODULES`) with at most three inputs (and no
unfitted parameters: cosexp is a fit) it
builds a tensor-product Chebyshev interpolant (NumPy's `numpy.polynomial.chebyshev`) of
degree n per input, and certifies it exactly as a surrogate is certified: `sg.verify`
with the same dense sample, the same worst-case search and the same metric
(`surrogate.metric.error` with the relation's term scale and `suggested_atol()`).

- Coordinates: the domain's own chart (`Domain.chart`), the map from the unit box that
  training and verification draw through -- log for a positive input spanning a decade,
  linear otherwise, and a dependent bound (`Re: (0.2/Pr, 1e7)`) mapped so that the
  tensor grid covers exactly the domain.  The nodes are Chebyshev points of the first
  kind (`chebpts1`, n + 1 per input: no node on a face, where a formula may be 0/0).
- Target: log|y| where the surrogate would use a log head (an output of one sign, or an
  implicit output with a positive range), y otherwise (model "cheb"); `--target value`
  interpolates y itself ("cheb-y"), `--target both` does both.
- Values at the nodes: explicit relations by the careful reference
  (`surrogate.reference.explicit_reference`, 0/0 and cancellation redone in extended
  precision); implicit ones by the package's numeric solve (`surrogate.solve.solve`).
  The interpolant needs solved values; the network trains from the residual alone.
- Coefficients: exact interpolation by the discrete orthogonality of the first-kind
  points (c = V^-1 f along each axis, `chebvander`), one array per output.
- Piecewise relations with a jump inside the domain (a condition `Re < 4000` on one
  input): one interpolant per piece on the piece's sub-box ("cheb-pw"; nodes count every
  piece), and the single interpolant across the jumps for the record ("cheb-one").
- Columns: nodes; max and p99 of the certificate; build time split into the values at
  the nodes (reference or solve) and the fit (coefficients; median of 5); size = bytes of
  float64 coefficients; evaluation time per 1e5 points of the dense sample (physical
  inputs -> outputs, chart inverse and exp included, NumPy, one thread), median
  [min-max] of 7 runs.
- `--surrogate DIR`: for each relation with a DIR/NAME.surrogate, a row "net" with the
  stored certificate's max and p99, its training time (info["seconds"]), the file size
  and the bytes of its weights, and the time of `model.evaluate` (torch, float64) and
  of the NumPy runtime (`surrogate.runtime.load(path).evaluate`) per 1e5 points.  The
  Chebyshev rows are then certified with that certificate's atol.

Timings are wall clock on whatever shares the CPU: read them to a factor of two.
Nothing here asserts: the figures are for people to read (docs/baseline.md).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before NumPy and torch load their thread pools

import importlib
import itertools
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sympy as sp
import torch
from numpy.polynomial import chebyshev as C

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import equations
import surrogate as sg
from surrogate.declaration.reference import explicit_reference
from surrogate.declaration.sampling import dense_points
from surrogate.declaration.solve import solve

torch.set_num_threads(1)

#: Three-input tensor grids above this many nodes are skipped.
MAX_NODES = 40_000


# -- the interpolant -----------------------------------------------------------------------------
def _vander(t, n: int):
    """[N, n + 1] Chebyshev polynomials T_0..T_n at t (NumPy or torch; the three-term
    recurrence, which has a finite derivative at t = +-1 where cos(k arccos t) has not)."""
    cols = [t * 0 + 1, t]
    for _ in range(n - 1):
        cols.append(2 * t * cols[-1] - cols[-2])
    st = torch.stack if isinstance(t, torch.Tensor) else np.stack
    return st(cols[: n + 1], 1)


def _contract(vs: list, c):
    """sum_{i,j,..} c[i, j, ..] V0[:, i] V1[:, j] ..  (NumPy or torch), the tensor evaluation."""
    n = vs[0].shape[0]
    r = vs[0] @ c.reshape(c.shape[0], -1)
    for v in vs[1:]:
        r = (r.reshape(n, v.shape[1], -1) * v[:, :, None]).sum(1)
    return r.reshape(n)


def _breaks(relation) -> list[list[tuple[float, float, bool]]]:
    """Per input, the jumps of a Piecewise: thresholds `Re < 4000` on one input with fixed
    bounds, strictly inside its range, as (u in the chart, value, whether the value itself
    belongs to the piece above), between (0, low, True) and (1, high, True)."""
    dom = relation.domain
    cuts: list[dict[float, tuple[float, float, bool]]] = [{} for _ in dom.inputs]
    for o in relation.outputs if relation.is_explicit else []:
        for pw in relation.expression(o).atoms(sp.Piecewise):
            for _, cond in pw.args:
                for rel in (cond.atoms(sp.core.relational.Relational) if cond is not sp.true else ()):
                    syms = rel.free_symbols
                    if len(syms) != 1 or not rel.lhs.is_Symbol or not rel.rhs.is_number:
                        continue
                    k = dom.names.index(next(iter(syms)).name)
                    spec = dom.inputs[k]
                    if spec.dependent:
                        continue
                    v, lo, hi = float(rel.rhs), float(spec.low), float(spec.high)
                    if lo < v < hi:
                        u = math.log(v / lo) / math.log(hi / lo) if spec.scale == "log" else (v - lo) / (hi - lo)
                        # x < v or x >= v: v itself lies in the piece above
                        cuts[k][v] = (u, v, isinstance(rel, (sp.StrictLessThan, sp.GreaterThan)))
    return [[(0.0, float(spec.low), True), *(c[v] for v in sorted(c)), (1.0, float(spec.high), True)]
            for spec, c in zip(dom.inputs, cuts)]


def _in_cell(x, box):
    """Rows of physical x inside a cell (None: every row), compared with the thresholds in
    the input's own units, as the Piecewise does: in chart coordinates a point at the cut
    (Re = 4000 exactly) would round into the wrong piece."""
    masks = []
    for k, ((ua, va, inc_a), (ub, vb, inc_b)) in enumerate(box):
        xk = x[:, k]
        if ua > 0:
            masks.append((xk >= va) if inc_a else (xk > va))
        if ub < 1:
            masks.append((xk < vb) if inc_b else (xk <= vb))
    inside = masks[0] if masks else None
    for m in masks[1:]:
        inside = inside & m
    return inside


class Chebyshev:
    """A tensor Chebyshev interpolant of a relation in its chart, per cell of `breaks`.

    Quacks like a Surrogate as far as `sg.verify` needs: inputs, outputs, info,
    `evaluate` (NumPy) and `module` (torch, differentiable, for the gradient search).
    """

    def __init__(self, relation, degree: int, breaks: list[list[float]] | None = None, target: str = "head"):
        self.relation, self.degree = relation, degree
        self.inputs, self.outputs = list(relation.inputs), list(relation.outputs)
        self.info: dict = {}
        dom = relation.domain
        d, n = dom.dim, degree
        self.breaks = breaks or [[(0.0, math.nan, True), (1.0, math.nan, True)]] * d
        t = C.chebpts1(n + 1)
        v = C.chebvander(t, n)
        # the first-kind points are discretely orthogonal: V^T V = diag(n+1, (n+1)/2, ...)
        vinv = v.T * np.r_[1.0, np.full(n, 2.0)][:, None] / (n + 1)
        self.cells: list[tuple[list[tuple[float, float]], list[np.ndarray]]] = []
        self.heads: list[tuple[str, float]] = []
        t_values = t_fit = 0.0
        self.unsolved = 0
        for box in _cells(self.breaks):
            grids = np.meshgrid(*[a[0] + (b[0] - a[0]) * 0.5 * (t + 1.0) for a, b in box], indexing="ij")
            u = np.stack([g.reshape(-1) for g in grids], 1)
            t0 = time.perf_counter()
            x = dom.chart(u)
            if relation.is_explicit:
                y = explicit_reference(relation, x).values
            else:
                sol = solve(relation, x)
                y = sol.values
                self.unsolved += int((~sol.ok).sum())
            t_values += time.perf_counter() - t0
            if not self.heads:
                self.heads = [_head(relation, o, y[:, j]) if target == "head" else ("linear", 1.0)
                              for j, o in enumerate(self.outputs)]
            coefs = []
            fits = []
            for j in range(len(self.outputs)):
                f = _link(y[:, j], self.heads[j]).reshape((n + 1,) * d)
                fits.append(_timed(lambda f=f: _fit(f, vinv)))
                coefs.append(_fit(f, vinv))
            t_fit += sum(fits)
            self.cells.append((box, coefs))
        self.t_values, self.t_fit = t_values, t_fit
        self.nodes = (n + 1) ** d * len(self.cells)
        self.nbytes = sum(c.nbytes for _, cs in self.cells for c in cs)
        self.module = _Module(self)

    # -- evaluation ------------------------------------------------------------------------------
    def _eval(self, x: np.ndarray) -> np.ndarray:
        u = self.relation.domain.inverse(x)
        out = []
        for j, (kind, sign) in enumerate(self.heads):
            p = np.empty(len(x))
            for box, coefs in self.cells:
                ts = [np.clip(2.0 * (u[:, k] - a[0]) / (b[0] - a[0]) - 1.0, -1.0, 1.0) for k, (a, b) in enumerate(box)]
                rows = _in_cell(x, box)
                if rows is None:
                    p = _contract([_vander(tk, self.degree) for tk in ts], coefs[j])
                elif rows.any():
                    p[rows] = _contract([_vander(tk[rows], self.degree) for tk in ts], coefs[j])
            out.append(sign * np.exp(p) if kind == "log" else p)
        return np.stack(out, 1)

    def evaluate(self, x: np.ndarray, *, block_rows: int = 8192) -> np.ndarray:
        """float64 [N, d] physical inputs -> [N, m] outputs (no domain check)."""
        x = np.asarray(x, dtype=np.float64)
        out = np.empty((len(x), len(self.outputs)))
        with np.errstate(all="ignore"):
            for i in range(0, len(x), block_rows):
                out[i : i + block_rows] = self._eval(x[i : i + block_rows])
        return out


class _Module(torch.nn.Module):
    """The interpolant in torch, so that verify's gradient ascent can climb its error."""

    def __init__(self, cheb: Chebyshev):
        super().__init__()
        self.cheb = cheb

    def __deepcopy__(self, memo):  # verify copies the module to cast it; nothing here to cast
        return self

    def forward(self, x):
        cheb = self.cheb
        u = cheb.relation.domain.inverse(x)
        out = []
        for j, (kind, sign) in enumerate(cheb.heads):
            p = torch.zeros(x.shape[0], dtype=x.dtype)
            for box, coefs in cheb.cells:
                ts = [(2.0 * (u[:, k] - a[0]) / (b[0] - a[0]) - 1.0).clamp(-1.0, 1.0) for k, (a, b) in enumerate(box)]
                c = torch.from_numpy(coefs[j]).to(x.dtype)
                inside = _in_cell(x, box)
                q = _contract([_vander(tk, cheb.degree) for tk in ts], c)
                p = q if inside is None else torch.where(inside, q, p)
            out.append(sign * torch.exp(p) if kind == "log" else p)
        return torch.stack(out, 1)


def _cells(breaks: list[list[float]]):
    boxes = [[]]
    for cuts in breaks:
        boxes = [b + [(lo, hi)] for b in boxes for lo, hi in itertools.pairwise(cuts)]
    return boxes


def _fit(f: np.ndarray, vinv: np.ndarray) -> np.ndarray:
    c = f
    for axis in range(f.ndim):
        c = np.moveaxis(np.tensordot(vinv, c, axes=([1], [axis])), 0, axis)
    return c


def _head(relation, o: str, y: np.ndarray) -> tuple[str, float]:
    """('log', sign) where the surrogate would use a log head (and no node value is 0), else ('linear', 1)."""
    if relation.is_explicit:
        sign = relation.program.sign.get(o, 0)
        if sign and o not in relation.normalizer and np.all(np.abs(y) > 0):
            return "log", float(sign)
        return "linear", 1.0
    return ("log", 1.0) if relation.output_scale(o) == "log" else ("linear", 1.0)


def _link(y: np.ndarray, head: tuple[str, float]) -> np.ndarray:
    return np.log(head[1] * y) if head[0] == "log" else y


def _timed(fn, repeat: int = 5) -> float:
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def _eval_times(fn, x: np.ndarray, repeat: int = 7) -> tuple[float, float, float]:
    fn(x[:1000])  # warm-up
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(x)
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), float(np.min(ts)), float(np.max(ts))


# -- the catalogue -------------------------------------------------------------------------------
def catalogue(max_inputs: int = 3) -> dict:
    out = {}
    for m in equations.MODULES:
        mod = importlib.import_module(m)
        for name in mod.__all__:
            rel = getattr(mod, name)
            if len(rel.inputs) <= max_inputs and not rel.parameters:  # cosexp: a fit, no values to interpolate
                out[name] = rel
    return out


def _fmt_time(t: tuple[float, float, float]) -> str:
    med, lo, hi = (1e3 * v for v in t)
    return f"{med:.3g} [{lo:.3g}-{hi:.3g}]"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", action="append", help="a catalogue relation (repeatable)")
    p.add_argument("--degrees", default="8,16,32", help="degrees per input, comma-separated (default 8,16,32)")
    p.add_argument("--points", type=int, default=1_000_000, help="points of the certificate's dense sample")
    p.add_argument("--no-search", action="store_true", help="dense sample only (no worst-case search)")
    p.add_argument("--surrogate", metavar="DIR", help="a folder of NAME.surrogate files to set beside")
    p.add_argument("--target", choices=("head", "value", "both"), default="head",
                   help="interpolate log|y| where the surrogate has a log head (head), y itself (value), or both")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    degrees = [int(v) for v in args.degrees.split(",")]
    rels = catalogue()
    names = args.only or list(rels)
    unknown = [n for n in names if n not in rels]
    if unknown:
        p.error(f"not a catalogue relation with <= 3 inputs: {', '.join(unknown)}; choose from {', '.join(rels)}")
    print(f"numpy {np.__version__}, torch {torch.__version__}, 1 thread; certificate: sg.verify, {args.points} "
          f"points, seed {args.seed}, {'no search' if args.no_search else 'with search'}; times: median [min-max] "
          f"of wall clock, ms per 1e5 points; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
          flush=True)
    head = (f"{'relation':<34} {'d':>1} {'model':<10} {'deg':>4} {'nodes':>6} | {'max':>9} {'p99':>9} | "
            f"{'values_s':>8} {'fit_s':>8} | {'bytes':>8} | {'eval ms/1e5 (NumPy)':>22} {'torch ms/1e5':>20}")
    rows: list[str] = []

    def emit(line: str):
        rows.append(line)
        print(line, flush=True)

    for name in names:
        rel = rels[name]
        d = len(rel.inputs)
        atol = rel.suggested_atol()
        net = None
        path = Path(args.surrogate) / f"{name}.surrogate" if args.surrogate else None
        if path is not None and path.exists():
            from surrogate import runtime

            net = sg.load(path)
            if net.certificate is not None:
                atol = net.certificate.atol
        x_time, _ = dense_points(rel, 100_000, args.seed + 1)
        if net is not None:
            rt = runtime.load(path)
            cert = net.certificate
            nbytes = sum(t.numel() * t.element_size() for t in net.module.net.state_dict().values())
            emit(f"{name:<34} {d:>1} {'net':<10} {'':>4} {'':>6} | "
                 f"{cert.max_error if cert else math.nan:>9.3g} {cert.p99_error if cert else math.nan:>9.3g} | "
                 f"{'':>8} {net.info.get('seconds', math.nan):>8.4g} | {path.stat().st_size:>8} | "
                 f"{_fmt_time(_eval_times(rt.evaluate, x_time)):>22} {_fmt_time(_eval_times(net.evaluate, x_time)):>20}"
                 f"   (weights {nbytes} B; fit_s = training)")
        br = _breaks(rel)
        pieces = [("", None)] if all(len(b) == 2 for b in br) else [("-one", None), ("-pw", br)]
        targets = {"head": [""], "value": ["-y"], "both": ["", "-y"]}[args.target]
        if all(h[0] == "linear" for h in Chebyshev(rel, 1).heads):
            targets = targets[:1]  # y is what the head interpolates already
        variants = [(t + pc, br_, t) for t in targets for pc, br_ in pieces]
        for deg in degrees:
            for label, breaks, target in variants:
                n_cells = math.prod(len(b) - 1 for b in (breaks or [[0, 1]] * d))
                if (deg + 1) ** d * n_cells > MAX_NODES:
                    continue
                cheb = Chebyshev(rel, deg, breaks, "value" if target else "head")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cert = sg.verify(cheb, rel, points=args.points, atol=atol, seed=args.seed,
                                     search=not args.no_search)
                ev = _eval_times(cheb.evaluate, x_time)
                extra = f"   ({cheb.unsolved} nodes unsolved)" if cheb.unsolved else ""
                emit(f"{name:<34} {d:>1} {'cheb' + label:<10} {deg:>4} {cheb.nodes:>6} | "
                     f"{cert.max_error:>9.3g} {cert.p99_error:>9.3g} | {cheb.t_values:>8.4f} {cheb.t_fit:>8.2g} | "
                     f"{cheb.nbytes:>8} | {_fmt_time(ev):>22} {'-':>20}{extra}")
    print()
    print(head)
    print("-" * len(head))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
