"""The domain: inputs with (possibly dependent) bounds, and the chart from the unit cube.

The chart maps u in [0, 1]^d onto the region one input at a time, in dependency
order: x_k = low_k(x_<k) + (high_k - low_k) * g(u_k), with g linear or logarithmic.
Every function here works on NumPy arrays and on torch tensors alike (columns in
declaration order), so the NumPy-only runtime and the trainer share one chart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .compile import compile_expr

__all__ = ["Domain", "InputSpec", "array_module"]

SCALES = ("linear", "log")
# One decade: wider positive ranges are charted and scaled logarithmically.
LOG_SPAN = 10.0


def array_module(a: Any):
    """torch for tensors, NumPy for everything else (without importing torch)."""
    if type(a).__module__.startswith("torch"):
        import torch

        return torch
    return np


@dataclass(frozen=True)
class InputSpec:
    """One input: its bounds (numbers or expressions of other inputs) and chart scale."""

    name: str
    low: sp.Expr
    high: sp.Expr
    scale: str  # "linear" or "log"
    range: tuple[float, float]  # smallest low and largest high over the domain

    @property
    def dependent(self) -> bool:
        return bool(self.low.free_symbols or self.high.free_symbols)

    @property
    def depends_on(self) -> set[str]:
        return {s.name for s in (self.low.free_symbols | self.high.free_symbols)}


class Domain:
    """Inputs in declaration order, charted in dependency order."""

    def __init__(self, inputs: list[InputSpec], order: list[int]):
        self.inputs = tuple(inputs)
        self.order = tuple(order)
        self.names = [s.name for s in inputs]
        self._fns: dict[tuple[str, str, str], Any] = {}
        #: Faces where an output vanishes ({column: side}), set by the relation after
        #: probing: they get an edge feature and edge sampling like a zero bound does.
        self.zero_faces: dict[int, str] = {}

    def with_bounds(self, bounds: dict[str, tuple[sp.Expr, sp.Expr]]) -> Domain:
        """The same domain with its bound expressions replaced (same names, e.g. the
        relation's real symbols), every bound compiled now for NumPy and, where torch
        is installed, for torch: nothing is compiled later."""
        from dataclasses import replace

        dom = Domain([replace(s, low=bounds[s.name][0], high=bounds[s.name][1]) for s in self.inputs], list(self.order))
        dom.zero_faces = dict(self.zero_faces)
        backends = ["numpy"] + (["torch"] if _has_torch() else [])
        for spec in dom.inputs:
            for which, expr in (("low", spec.low), ("high", spec.high)):
                if expr.free_symbols:
                    for b in backends:
                        dom._fns[(spec.name, which, b)] = compile_expr(expr, b)
        return dom

    @property
    def dim(self) -> int:
        return len(self.inputs)

    def __repr__(self) -> str:
        parts = [f"{_fmt(s.low)} <= {s.name} <= {_fmt(s.high)} ({s.scale})" for s in self.inputs]
        return "Domain(" + ", ".join(parts) + ")"

    # -- bound evaluation ---------------------------------------------------------
    def _bound(self, k: int, which: str, columns: dict, xp) -> Any:
        spec = self.inputs[k]
        expr = spec.low if which == "low" else spec.high
        if not expr.free_symbols:
            return float(expr)
        key = (spec.name, which, "numpy" if xp is np else "torch")
        fn = self._fns.get(key)
        if fn is None:
            fn = self._fns[key] = compile_expr(expr, key[2])
        return fn(columns)

    def bounds(self, x) -> tuple[list, list]:
        """Per input, the low and high bound at each row of x (floats or arrays)."""
        xp = array_module(x)
        cols = {n: x[:, j] for j, n in enumerate(self.names)}
        lows = [self._bound(k, "low", cols, xp) for k in range(self.dim)]
        highs = [self._bound(k, "high", cols, xp) for k in range(self.dim)]
        return lows, highs

    # -- the chart ------------------------------------------------------------------
    def chart(self, u, edges: dict[int, str] | None = None, edge_mask=None, delta: float | dict[int, float] = 1e-6):
        """Map u in [0, 1]^d (rows) onto the domain; same array type, dtype and device.

        With `edges` ({column: "low"|"high"}) and a boolean `edge_mask` like u, the
        masked entries of those columns are drawn log-uniformly in their distance to
        that bound instead: the distance is (high - low) * delta**u (`delta` may be
        given per column as a dict).  Thin layers at
        such bounds, where errors hide, then get as many points as the bulk.
        """
        xp = array_module(u)
        cols: dict[str, Any] = {}
        for k in self.order:
            spec = self.inputs[k]
            lo = self._bound(k, "low", cols, xp)
            hi = self._bound(k, "high", cols, xp)
            v = _chart1(u[:, k], lo, hi, spec.scale, xp)
            if edges and k in edges and edge_mask is not None:
                t = (delta[k] if isinstance(delta, dict) else delta) ** u[:, k]
                near = self.edge_point(k, edges[k], lo, hi, t, xp)
                v = xp.where(edge_mask[:, k], near, v)
            cols[spec.name] = v
        return xp.stack([cols[n] for n in self.names], 1)

    def log_edge(self, k: int) -> bool:
        """Whether column k's edge is measured in log distance: a face where an output
        vanishes on a log-scaled input (log10(x) at x = 1 on (1, 1e6))."""
        return k in self.zero_faces and self.inputs[k].scale == "log"

    def edge_distance(self, k: int, side: str, v, lo, hi, xp, log: bool | None = None):
        """Relative distance (0 at the edge, 1 at the far bound) of values v of column k,
        in log distance where `log` (default: `log_edge(k)`)."""
        if self.log_edge(k) if log is None else log:
            llo, lhi, lv = _log(lo, xp), _log(hi, xp), xp.log(v)
            return ((lhi - lv) if side == "high" else (lv - llo)) / (lhi - llo)
        return ((hi - v) if side == "high" else (v - lo)) / (hi - lo)

    def edge_point(self, k: int, side: str, lo, hi, t, xp):
        """The value of column k at relative distance t from its edge (`edge_distance`'s inverse)."""
        if self.log_edge(k):
            llo, lhi = _log(lo, xp), _log(hi, xp)
            return xp.exp(lhi - (lhi - llo) * t) if side == "high" else xp.exp(llo + (lhi - llo) * t)
        return hi - (hi - lo) * t if side == "high" else lo + (hi - lo) * t

    def inverse(self, x):
        """Chart coordinates u of points x (the inverse of `chart`)."""
        xp = array_module(x)
        lows, highs = self.bounds(x)
        cols = []
        for k, spec in enumerate(self.inputs):
            lo, hi, v = lows[k], highs[k], x[:, k]
            if spec.scale == "log":
                cols.append((xp.log(v) - _log(lo, xp)) / (_log(hi, xp) - _log(lo, xp)))
            else:
                cols.append((v - lo) / (hi - lo))
        return xp.stack(cols, 1)

    def contains(self, x, rtol: float = 0.0):
        """Boolean mask of the rows of x inside the domain (NaN is outside).

        `rtol` widens each bound by that fraction of the bound's own magnitude, to
        forgive rounding (a point an ulp or two outside).  Not of the range: on Re from
        0.2/Pr to 1e7, 1e-9 of the range admitted Re 0.01 below a bound of 8e-4, and the
        error map scored that extrapolation (issue 19).
        """
        xp = array_module(x)
        lows, highs = self.bounds(x)
        ok = None
        for k in range(self.dim):
            v, lo, hi = x[:, k], lows[k], highs[k]
            if rtol:
                inside = (v >= lo - rtol * abs(lo)) & (v <= hi + rtol * abs(hi))
            else:
                inside = (v >= lo) & (v <= hi)
            ok = inside if ok is None else ok & inside
        if ok is None:
            return xp.ones(x.shape[0], dtype=bool)
        return ok

    def clip(self, x: np.ndarray) -> np.ndarray:
        """x (NumPy [N, d]) with each column clipped into its bounds, in dependency order:
        a point the chart put an ulp outside (log scaling rounds) comes back inside."""
        x = np.array(x, dtype=np.float64)
        cols = {n: x[:, j] for j, n in enumerate(self.names)}
        for k in self.order:
            lo = self._bound(k, "low", cols, np)
            hi = self._bound(k, "high", cols, np)
            x[:, k] = np.clip(x[:, k], lo, hi)
            cols[self.names[k]] = x[:, k]
        return x

    def violations(self, x, limit: int = 5) -> list[tuple[int, str, float, float, float]]:
        """(row, input, value, low, high) for up to `limit` offending entries (NumPy x)."""
        x = np.asarray(x, dtype=np.float64)
        lows, highs = self.bounds(x)
        out = []
        for i in range(x.shape[0]):
            for k, n in enumerate(self.names):
                lo = lows[k] if isinstance(lows[k], float) else lows[k][i]
                hi = highs[k] if isinstance(highs[k], float) else highs[k][i]
                v = x[i, k]
                if not (lo <= v <= hi):
                    out.append((i, n, float(v), float(lo), float(hi)))
                    if len(out) >= limit:
                        return out
        return out

    # -- sampling -------------------------------------------------------------------
    def sobol(self, n: int, *, seed: int = 0, dtype=None, device=None):
        """n scrambled-Sobol points charted into the domain, as a torch tensor."""
        import torch

        engine = torch.quasirandom.SobolEngine(self.dim, scramble=True, seed=seed)
        u = engine.draw(n, dtype=torch.float64)
        return self.chart(u).to(dtype=dtype or torch.float64, device=device)

    def uniform(self, n: int, *, generator=None, dtype=None, device=None):
        """n pseudo-random chart points as a torch tensor (uniform in chart coordinates)."""
        import torch

        u = torch.rand(n, self.dim, generator=generator, dtype=dtype or torch.float32, device=device)
        return self.chart(u)


def _has_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def _log(v, xp):
    return math.log(v) if isinstance(v, float) else xp.log(v)


def _chart1(u, lo, hi, scale, xp):
    if scale == "log":
        llo, lhi = _log(lo, xp), _log(hi, xp)
        return xp.exp(llo + (lhi - llo) * u)
    return lo + (hi - lo) * u


def _fmt(e: sp.Expr) -> str:
    """A bound as a reader writes it: 0.1 and 1e+12, not SymPy's 0.100000000000000."""
    return f"{float(e):.6g}" if e.is_number else str(e)


def build_domain(
    bounds: dict[str, tuple[sp.Expr, sp.Expr]],
    scales: dict[str, str],
    problems: list[str],
    *,
    probe_points: int = 4096,
) -> Domain | None:
    """Order the inputs, decide each chart scale and probe the bounds numerically.

    Appends every problem found to `problems`; returns None when the domain cannot
    be built.  Checks that can only be decided numerically (low < high for a bound
    that depends on other inputs, a log scale on a range reaching zero) are made on
    the corners and `probe_points` random points of the domain.
    """
    names = list(bounds)
    inverted = False
    for n, (lo, hi) in bounds.items():
        if not (lo.free_symbols or hi.free_symbols) and float(lo) >= float(hi):
            inverted = True
            problems.append(
                f"low >= high for {n}: ({float(lo)!r}, {float(hi)!r}); give the low bound first (bounds are never swapped)"
            )
    deps = {n: {s.name for s in (lo.free_symbols | hi.free_symbols)} for n, (lo, hi) in bounds.items()}
    for n, d in deps.items():
        unknown = sorted(d - set(names))
        if unknown:
            problems.append(
                f"bound for {n} refers to {', '.join(unknown)}, which "
                f"{'is not an input' if len(unknown) == 1 else 'are not inputs'}; inputs are {', '.join(names)}"
            )
    if inverted or any(d - set(names) for d in deps.values()):
        return None
    order: list[str] = []
    pending = dict(deps)
    while pending:
        ready = [n for n in names if n in pending and pending[n] <= set(order)]
        if not ready:
            cycle = ", ".join(sorted(pending))
            problems.append(f"bounds of {cycle} depend on each other in a cycle; a bound may only use inputs bounded without it")
            return None
        for n in ready:
            order.append(n)
            del pending[n]

    rng = np.random.default_rng(0)
    d = len(names)
    u = rng.random((probe_points, d))
    if d <= 12:
        corners = ((np.arange(2**d)[:, None] >> np.arange(d)) & 1).astype(np.float64)
        u = np.concatenate([corners, u])
    cols: dict[str, np.ndarray] = {}
    specs: dict[str, InputSpec] = {}
    ok = True
    for n in order:
        lo_e, hi_e = bounds[n]
        j = names.index(n)
        lo = compile_expr(lo_e, "numpy")(cols) if lo_e.free_symbols else np.full(len(u), float(lo_e))
        hi = compile_expr(hi_e, "numpy")(cols) if hi_e.free_symbols else np.full(len(u), float(hi_e))
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            problems.append(f"bounds of {n} are not finite somewhere in the domain (low {lo_e}, high {hi_e})")
            ok = False
            break
        bad = np.nonzero(lo >= hi)[0]
        if bad.size:
            i = bad[0]
            where = ", ".join(f"{k}={cols[k][i]:.6g}" for k in cols) or "everywhere"
            problems.append(
                f"low >= high for {n}: low {lo_e} = {lo[i]:.6g}, high {hi_e} = {hi[i]:.6g} at {where}; "
                "give a low bound below the high one (bounds are never swapped)"
            )
            ok = False
            break
        rng_lo, rng_hi = float(lo.min()), float(hi.max())
        scale = scales.get(n)
        if scale is None:
            scale = "log" if rng_lo > 0 and rng_hi / rng_lo >= LOG_SPAN else "linear"
        elif scale == "log" and rng_lo <= 0:
            problems.append(
                f"log scale asked for {n}, whose range reaches {rng_lo:.6g} <= 0; use scales={{{n}: 'linear'}} "
                "or a positive low bound"
            )
            ok = False
            break
        specs[n] = InputSpec(n, lo_e, hi_e, scale, (rng_lo, rng_hi))
        cols[n] = _chart1(u[:, j], lo, hi, scale, np)
    if not ok:
        return None
    return Domain([specs[n] for n in names], [names.index(n) for n in order])
