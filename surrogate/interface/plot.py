"""Pictures of a surrogate's accuracy: the error over its domain, and its training curves.

    fig = sg.plot_error(model)          # or model.certificate.plot(model)
    fig.savefig("error.png")
    sg.plot_training(model).savefig("training.png")

The error is the certificate's (`surrogate.verify.point_errors`, the one
definition), drawn on the axes the model is scaled in (log axes for log-scaled
inputs):

- one input: the error against the input;
- two inputs: a heat map over the domain (grey outside it, for dependent bounds),
  with the tolerance contour;
- three or more: heat maps on every two-input slice through the worst point, as a
  corner grid (grey where a slice leaves the domain).

An axis is labelled with the input's declared unit, ``D [m] (log)`` (a dimensionless
input, or one without a unit, by its name alone: ``Re (log)``; `display.unit_label`).

The worst point is a red star everywhere.  Beside the map (three or more inputs, or
any domain with edges) a column shows the distribution of the error over a dense
sample drawn as `verify` draws it, and, for every input with an edge (a dependent
bound such as x2 <= x1, a zero bound), the error against the relative distance to
that edge on a log axis: layers thinner than a pixel of the map show up there.
Points where the reference is undefined, or where an implicit relation's solver
could not settle, are drawn as black crosses and counted, never dropped.

matplotlib is an optional dependency, imported inside the functions; the figures
are plain `matplotlib.figure.Figure` objects, made without pyplot (no display, no
global state): save them, or show them in a notebook.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..checking.score import point_errors
from ..declaration.display import unit_label
from ..declaration.sampling import dense_points, edge_sides
from ..errors import SurrogateError

__all__ = ["plot_error", "plot_training", "require_matplotlib", "PlotDependencyError", "PLOT_POINTS"]

#: Points of the dense sample behind the distribution and edge panels; 10^6 takes
#: about 2 s to score for an explicit relation, 6 s for an implicit one (2 CPU cores).
PLOT_POINTS = 200_000
#: Grid points per axis: one input, two inputs, each slice of three or more.
RESOLUTION = {1: 2001, 2: 201, "slice": 61}
#: Colours of the marks, the same in every panel.
WORST, UNDEFINED, TOLERANCE, OUTSIDE = "red", "black", "white", "0.85"


@dataclass(frozen=True)
class _Marks:
    """What every panel marks: the worst point, the certificate's max, the tolerance."""

    worst: np.ndarray  # inputs, in order
    worst_error: float
    worst_label: str
    cert: object | None
    tolerance: float | None
    undefined: str  # what a point without a reference is (the relation's kind)
    units: dict  # {name: unit string} of the relation's symbols that have one: axes read "D [m]"

    def star(self, ax, x, y, size: int = 12) -> None:
        ax.plot([x], [y], ls="none", marker="*", ms=size, color=WORST, mec="black", clip_on=False, gid="worst",
                label=self.worst_label)

    def undefined_label(self, n: int) -> str:
        return f"{self.undefined} ({n})"


class PlotDependencyError(SurrogateError, ImportError):
    """matplotlib, which plotting needs, is not installed."""


def require_matplotlib():
    try:
        import matplotlib
        from matplotlib.colors import LogNorm
        from matplotlib.figure import Figure
    except ImportError as e:
        raise PlotDependencyError(
            "plotting needs matplotlib, which is not installed here: pip install 'surrogate-formula[plot]'"
        ) from e
    return matplotlib, Figure, LogNorm


def plot_error(
    model,
    *,
    certificate=None,
    atol: float | None = None,
    tolerance: float | None = None,
    output: str | None = None,
    points: int = PLOT_POINTS,
    resolution: int | None = None,
    seed: int = 0,
):
    """The error of `model` over its domain, as a matplotlib Figure.

    certificate: marks its max and worst point (default `model.certificate`; without
        one, the worst point of the plotted sample is marked instead).
    atol: the error floor (default the certificate's, else the training's).
    tolerance: the error level drawn as a contour on heat maps and a line elsewhere
        (default none).
    output: one output's error (default the max over outputs, as the certificate).
    points: size of the dense sample for the distribution and edge panels.
    resolution: grid points per axis of the map (default 2001, 201, or 61 per slice).
    """
    mpl, Figure, LogNorm = require_matplotlib()
    rel = model.relation
    dom = rel.domain
    cert = certificate if certificate is not None else getattr(model, "certificate", None)
    if atol is None:
        atol = cert.atol if cert is not None else float(getattr(model, "info", {}).get("atol") or 0.0)
    if output is not None and output not in rel.outputs:
        raise ValueError(f"output {output!r} is not one of the model's outputs: {', '.join(rel.outputs)}")
    if points < 16:
        raise ValueError(f"points must be at least 16, not {points!r}")
    if tolerance is not None and not (tolerance > 0 and math.isfinite(tolerance)):
        raise ValueError(f"tolerance must be a positive number, not {tolerance!r}")
    d = dom.dim
    n_grid = resolution or RESOLUTION[d if d <= 2 else "slice"]
    if n_grid < 2:
        raise ValueError(f"resolution must be at least 2 grid points per axis, not {resolution!r}")

    def errors(x):
        err, defined = point_errors(model, x, atol=atol)
        e = err.max(1) if output is None else err[:, rel.outputs.index(output)]
        return np.where(defined, e, np.nan), defined

    edges = edge_sides(dom)
    side = d >= 3 or bool(edges)
    dense = None
    if side:
        xs, _ = dense_points(rel, points, seed)
        es, ds = errors(xs)
        dense = (xs, es, ds)
    if cert is not None:
        worst = np.array([cert.worst[n] for n in dom.names], dtype=np.float64)
        worst_label = f"worst point (certificate), error {cert.max_error:.3g}"
    else:
        worst = None
        worst_label = "worst point of the plotted sample"

    # -- the map's grids, scored before any drawing so that all panels share one colour scale
    if d == 1:
        u = np.linspace(0.0, 1.0, n_grid)[:, None]
        xg = dom.chart(u)
        if worst is not None:
            xg = np.sort(np.concatenate([xg, worst[None]]), 0)
        eg, dg = errors(xg)
        if worst is None:
            worst = _worst_of([(xg, eg)] + ([dense[:2]] if dense else []))
        maps = []
    else:
        if worst is None:  # the sample's worst point fixes the slices
            x0 = dense[0] if dense else _grid_points(dom, 0, 1, n_grid, np.zeros(d))[0]
            e0 = dense[1] if dense else errors(x0)[0]
            worst = _worst_of([(x0, e0)])
        pairs = [(0, 1)] if d == 2 else [(i, j) for j in range(1, d) for i in range(j)]
        maps = []
        for i, j in pairs:
            x, inside, shape, axes = _grid_points(dom, i, j, n_grid, worst)
            e = np.full(len(x), np.nan)
            ok = np.zeros(len(x), dtype=bool)
            if inside.any():
                e[inside], ok[inside] = errors(x[inside])
            maps.append((i, j, axes, e.reshape(shape), (inside & ~ok).reshape(shape)))
    worst_error = float(errors(worst[None])[0][0])
    marks = _Marks(worst, worst_error, worst_label, cert, tolerance, rel.kind.undefined, rel.units)
    pools = [m[3] for m in maps] + ([eg] if d == 1 else []) + ([dense[1]] if dense else [])
    vmin, vmax = _colour_range(pools, cert.max_error if cert is not None else worst_error)
    norm = LogNorm(vmin=vmin, vmax=vmax)
    cmap = mpl.colormaps["viridis"].with_extremes(under=mpl.colormaps["viridis"](0.0), over="magenta")

    # -- layout
    name = rel.name or "relation"
    what = f"error of {output}" if output else "error"
    definition = cert.error if cert is not None else rel.kind.error
    definition = definition.replace("; docs/architecture.md", "")  # the figure says what, not where the docs are
    title = f"{name}: {what}, {definition}" + (f", atol {atol:g}" if atol else "")
    if d == 1:
        size = (7.0, 4.5)
    elif d == 2:
        size = (7.0, 6.0)
    else:
        size = (2.6 * (d - 1) + 1.0, 2.6 * (d - 1))
    n_side = 1 + len(edges) if side else 0
    width = size[0] + (4.2 if side else 0.0)
    height = max(size[1], 3.0 * n_side)
    fig = Figure(figsize=(width, height), layout="constrained")
    _suptitle(fig, title, 11)
    if side:
        main, column = fig.subfigures(1, 2, width_ratios=[size[0], 4.2])
    else:
        main, column = fig, None

    if d == 1:
        _draw_line(main, dom.inputs[0], xg[:, 0], eg, dg, marks, vmax * 1e-6)
    else:
        _draw_maps(main, dom, maps, marks, norm, cmap, what)
    if column is not None:
        axes = column.subplots(n_side, 1, squeeze=False)[:, 0]
        xs, es, ds = dense
        _draw_distribution(axes[0], es, ds, marks, points, bool(edges))
        for ax, (k, which) in zip(axes[1:], edges.items()):
            _draw_edge(ax, dom, k, which, xs, es, ds, marks)
    return fig


def _suptitle(fig, text: str, fontsize: float):
    """The figure's title, wrapped at spaces so that each line fits the figure's width less
    one em each side (a long name or error definition ran off both edges).  Widths are the
    font's own (matplotlib's TextToPath, in points), so no renderer is needed."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(size=fontsize)
    measure = TextToPath()
    room = fig.get_figwidth() * 72.0 - 2 * fontsize

    def width(line: str) -> float:
        return measure.get_text_width_height_descent(line, prop, ismath=False)[0]

    lines: list[str] = []
    for word in text.split(" "):
        if lines and width(f"{lines[-1]} {word}") <= room:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)  # a single word wider than the figure stays whole
    return fig.suptitle("\n".join(lines), fontsize=fontsize)


def _worst_of(samples) -> np.ndarray:
    x = np.concatenate([s[0] for s in samples])
    e = np.concatenate([s[1] for s in samples])
    return x[int(np.argmax(np.where(np.isnan(e), -np.inf, e)))]


def _axis_grid(spec, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell edges and centres over an input's global range (geometric for log inputs)."""
    lo, hi = spec.range
    if spec.scale == "log":
        e = np.geomspace(lo, hi, n + 1)
        return e, np.sqrt(e[:-1] * e[1:])
    e = np.linspace(lo, hi, n + 1)
    return e, 0.5 * (e[:-1] + e[1:])


def _grid_points(dom, i: int, j: int, n: int, through: np.ndarray):
    """Grid over inputs i (x axis) and j (y axis), the others fixed at `through`.

    Returns (points [n*n, d], inside mask, (ny, nx), ((x edges, x centres), (y edges, y centres)))."""
    gx, gy = _axis_grid(dom.inputs[i], n), _axis_grid(dom.inputs[j], n)
    cx, cy = np.meshgrid(gx[1], gy[1])
    x = np.repeat(np.asarray(through, dtype=np.float64)[None], cx.size, 0)
    x[:, i], x[:, j] = cx.ravel(), cy.ravel()
    # rtol: a worst point from the search may sit a rounding error outside a bound (x3 = 1000 - 2 ulp)
    return x, np.asarray(dom.contains(x, rtol=1e-9)), cx.shape, (gx, gy)


def _colour_range(pools, top: float) -> tuple[float, float]:
    vals = np.concatenate([np.ravel(p) for p in pools]) if pools else np.array([])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    vmax = max(float(vals.max()) if vals.size else 0.0, top if math.isfinite(top) else 0.0)
    if not vmax > 0:
        return 1e-12, 1.0
    # at most three decades, from the 1st percentile: a signed error crossing zero makes
    # thin valleys of tiny values that would otherwise take most of the colour scale
    vmin = max(float(np.quantile(vals, 0.01)) if vals.size else 0.0, vmax * 1e-3)
    return min(vmin, vmax / 10), vmax


def _set_scale(ax, spec, axis: str) -> None:
    if spec.scale == "log":
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


def _draw_line(fig, spec, x, e, defined, marks: _Marks, floor: float) -> None:
    cert, tolerance = marks.cert, marks.tolerance
    ax = fig.subplots()
    ax.set_gid(f"error:{spec.name}")
    ax.plot(x, np.where(defined, np.maximum(e, floor), np.nan), color="C0", lw=1.0, gid="error", label="error")
    _set_scale(ax, spec, "x")
    ax.set_yscale("log")
    ax.set_xlabel(f"{unit_label(spec.name, marks.units.get(spec.name))} ({spec.scale})")
    ax.set_ylabel("error")
    if cert is not None:
        ax.axhline(cert.max_error, color=WORST, ls="--", lw=1.0, gid="certificate max",
                   label=f"certificate max {cert.max_error:.3g}")
    if tolerance is not None:
        ax.axhline(tolerance, color="0.3", ls=":", lw=1.0, gid="tolerance", label=f"tolerance {tolerance:g}")
    marks.star(ax, marks.worst[0], max(marks.worst_error, floor), 14)
    bad = ~defined
    if bad.any():  # at the bottom of the axes: the error has no value there
        ax.plot(x[bad], np.zeros(int(bad.sum())), ls="none", marker="x", color=UNDEFINED, clip_on=False,
                transform=ax.get_xaxis_transform(), gid="undefined", label=marks.undefined_label(int(bad.sum())))
    ax.legend(fontsize=8)


def _draw_maps(fig, dom, maps, marks: _Marks, norm, cmap, what: str) -> None:
    """Heat maps: one (two inputs) or a corner grid of slices (three or more)."""
    d, worst, tolerance = dom.dim, marks.worst, marks.tolerance
    dependent = any(s.dependent for s in dom.inputs)
    if d == 2:
        grid = np.array([[fig.subplots()]])
    else:
        grid = fig.subplots(d - 1, d - 1, squeeze=False)
    mesh = None
    for i, j, ((ex, cx), (ey, cy)), e, bad in maps:
        ax = grid[j - 1, i] if d > 2 else grid[0, 0]
        ax.set_gid(f"map:{dom.names[i]}:{dom.names[j]}")
        ax.set_facecolor(OUTSIDE)
        mesh = ax.pcolormesh(ex, ey, np.ma.masked_invalid(e), norm=norm, cmap=cmap, shading="flat",
                             rasterized=True)
        mesh.set_gid("error map")
        _set_scale(ax, dom.inputs[i], "x")
        _set_scale(ax, dom.inputs[j], "y")
        ax.set_xlim(ex[0], ex[-1])
        ax.set_ylim(ey[0], ey[-1])
        fin = e[np.isfinite(e)]
        if tolerance is not None and fin.size and fin.min() < tolerance < fin.max():
            cs = ax.contour(cx, cy, np.ma.masked_invalid(e), levels=[tolerance], colors=TOLERANCE,
                            linewidths=1.2)
            cs.set_gid("tolerance")
        if bad.any():
            gx, gy = np.meshgrid(cx, cy)
            ax.plot(gx[bad], gy[bad], ls="none", marker="x", ms=3, color=UNDEFINED, gid="undefined",
                    label=marks.undefined_label(int(bad.sum())))
        marks.star(ax, worst[i], worst[j], 12 if d == 2 else 9)
        if d == 2 or j == d - 1:
            ax.set_xlabel(f"{unit_label(dom.names[i], marks.units.get(dom.names[i]))} ({dom.inputs[i].scale})",
                          fontsize=9 if d > 2 else None)
        if d == 2 or i == 0:
            ax.set_ylabel(f"{unit_label(dom.names[j], marks.units.get(dom.names[j]))} ({dom.inputs[j].scale})",
                          fontsize=9 if d > 2 else None)
        if d > 2:
            ax.tick_params(labelsize=7)
            ax.minorticks_off()  # small panels: the minor ticks of log axes cost a second and say little
    if d == 2:
        ax = grid[0, 0]
        key = ["grey: outside the domain"] if dependent else []
        key += [f"tolerance {tolerance:g} (white contour)"] if tolerance is not None else []
        ax.set_title("; ".join(key), fontsize=9)
        ax.legend(fontsize=8, loc="upper right")  # "best" would test all 40 000 cells: seconds
        fig.colorbar(mesh, ax=ax, label=what, extend="both", shrink=0.8, aspect=30)
    else:  # the empty upper triangle: the colour bar and the key, top right
        for r in range(d - 1):
            for c in range(r + 1, d - 1):
                grid[r, c].set_visible(False)
        corner = grid[0, d - 2]
        corner.set_visible(True)
        corner.axis("off")
        cax = corner.inset_axes([0.8, 0.0, 0.07, 1.0])
        fig.colorbar(mesh, cax=cax, label=what, extend="both")
        key = ["slices through the", "worst point (red star):", *(f"  {n} = {v:.6g}" for n, v in zip(dom.names, worst))]
        key += ["grey: outside the domain"] if dependent else []
        if tolerance is not None:
            key += ["white contour:", f"  tolerance {tolerance:g}"]
        corner.text(0.0, 1.0, "\n".join(key), ha="left", va="top", fontsize=7, transform=corner.transAxes)


def _draw_distribution(ax, e, defined, marks: _Marks, points: int, edges: bool) -> None:
    cert, tolerance = marks.cert, marks.tolerance
    ax.set_gid("distribution")
    fin = e[defined & np.isfinite(e)]
    fin = fin[fin > 0]
    n_bad = int((~defined).sum())
    if fin.size:
        lo, hi = np.log10(fin.min()), np.log10(fin.max())
        bins = np.logspace(lo, hi if hi > lo else lo + 1, 61)
        ax.hist(fin, bins=bins, color="C0", gid="distribution")
        ax.axvline(float(np.quantile(fin, 0.99)), color="0.3", ls="-.", lw=1.0, label="p99 (this sample)")
        ax.axvline(float(fin.mean()), color="0.3", ls=":", lw=1.0, label="mean (this sample)")
    if cert is not None:
        ax.axvline(cert.max_error, color=WORST, ls="--", lw=1.0, gid="certificate max",
                   label=f"certificate max {cert.max_error:.3g}")
    if tolerance is not None:
        ax.axvline(tolerance, color="black", lw=1.0, gid="tolerance", label=f"tolerance {tolerance:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("error")
    ax.set_ylabel("points")
    how = "half towards edges, as verify draws it" if edges else "Sobol, as verify draws it"
    note = f"{points:,} points ({how})"
    if n_bad:
        why = marks.undefined
        note += f"\n{n_bad:,} {why} (not shown)"
    ax.set_title(note, fontsize=8)
    ax.legend(fontsize=7, loc="upper left")


def _draw_edge(ax, dom, k, which, x, e, defined, marks: _Marks) -> None:
    """Error against the relative distance of input k to its edge, on a log axis."""
    import sympy as sp

    spec = dom.inputs[k]
    ax.set_gid(f"edge:{spec.name}")
    rel = _edge_distance(dom, k, which, x)
    wrel = float(_edge_distance(dom, k, which, marks.worst[None])[0])
    ok = defined & np.isfinite(e)
    pos = rel[ok & (rel > 0)]
    zero_at = (pos.min() if pos.size else 1e-16) / 10
    rel = np.where(rel > 0, rel, zero_at)
    wrel = wrel if wrel > 0 else zero_at
    floor = max(np.nanmin(e[ok]) if ok.any() else 1e-12, 1e-300)
    rng = np.random.default_rng(0)
    idx = np.nonzero(ok)[0]
    show = rng.choice(idx, min(idx.size, 20_000), replace=False) if idx.size else idx
    ax.scatter(rel[show], np.maximum(e[show], floor), s=1, alpha=0.25, color="C0", rasterized=True, lw=0,
               label="dense sample")
    if idx.size:
        bins = np.logspace(np.log10(rel[idx].min()), 0.0, 49)
        at = np.clip(np.searchsorted(bins, rel[idx]) - 1, 0, len(bins) - 2)
        top = np.full(len(bins) - 1, np.nan)
        np.fmax.at(top, at, e[idx])
        mid = np.sqrt(bins[:-1] * bins[1:])
        ax.plot(mid, top, color="C1", lw=1.2, gid="edge max", label="max per bin")
    if marks.tolerance is not None:
        ax.axhline(marks.tolerance, color="black", lw=1.0, gid="tolerance", label=f"tolerance {marks.tolerance:g}")
    marks.star(ax, wrel, max(marks.worst_error, floor))
    ax.set_xscale("log")
    ax.set_yscale("log")
    bound = spec.high if which == "high" else spec.low
    dist = sp.simplify((bound - sp.Symbol(spec.name)) / (spec.high - spec.low))
    if which == "low":
        dist = sp.simplify(-dist)
    ax.set_xlabel(f"distance of {spec.name} to its {which} bound {bound}: {sp.sstr(dist)}"
                  + (f"\n(0 drawn at {zero_at:.0e})" if (rel == zero_at).any() else ""), fontsize=8)
    ax.set_ylabel("error")
    ax.legend(fontsize=7, loc="lower left")  # not "best": it would test every point


def _edge_distance(dom, k: int, which: str, x: np.ndarray) -> np.ndarray:
    """Relative distance (0 at the bound, 1 at the other) of input k to its edge, as the edge feature measures it."""
    lows, highs = dom.bounds(x)
    lo, hi = lows[k], highs[k]
    dist = (hi - x[:, k]) if which == "high" else (x[:, k] - lo)
    return np.maximum(dist / (hi - lo), 0.0) * np.ones(len(x))


# -- training ----------------------------------------------------------------------------


def _history(info: dict) -> np.ndarray:
    """Rows [n, 5]: step, seconds, attempt, max, mean; None -> NaN."""

    def num(v):
        return math.nan if v is None else float(v)

    rows = [[num(v) for v in row[:5]] for row in info.get("history") or []]
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def plot_training(model_or_info):
    """Validation max and mean error against steps and seconds, as a matplotlib Figure.

    Takes a trained Surrogate (or its `info` dict).  Restarts are dotted vertical
    lines; a red star marks the model kept (the lowest validation max of the last attempt,
    `info["validation"]`; at the end of the Adam steps when that state was validated
    only there).
    """
    _, Figure, _ = require_matplotlib()
    info = getattr(model_or_info, "info", model_or_info)
    if not isinstance(info, dict):
        raise TypeError(f"plot_training takes a Surrogate or its info dict, not {type(model_or_info).__name__}")
    adam = _history(info)
    if not len(adam):
        raise SurrogateError("this model carries no training history (info['history'] is empty): it was not "
                             "trained by surrogate.train, or stopped before the first validation check "
                             f"(every {(info.get('config') or {}).get('check_every', 'few hundred')} steps)")
    step, sec, attempt = adam[:, 0], adam[:, 1], adam[:, 2]
    total_sec = float(info.get("seconds") or sec[-1])
    # the loop ends after the last check (up to check_every steps later); its end is
    # not in the history, its step count is
    adam_end = max(float(info.get("steps") or step[-1]), step[-1])
    sec_end = min(sec[-1] * adam_end / step[-1], total_sec) if step[-1] > 0 else sec[-1]
    last = attempt == attempt[-1]
    cand = adam[last][:, [0, 1, 3]]
    kept_val = (info.get("validation") or {}).get("max")
    kept_val = float(np.nanmin(cand[:, 2])) if kept_val is None else float(kept_val)
    close = np.nonzero(np.isclose(cand[:, 2], kept_val, rtol=1e-9, atol=0.0))[0]
    # not in the history: the state at the end of the Adam loop, validated once more there
    kept = cand[close[0]] if close.size else np.array([adam_end, sec_end, kept_val])

    fig = Figure(figsize=(11, 4.2), layout="constrained")
    name = getattr(getattr(model_or_info, "relation", None), "name", None) or "surrogate"
    stop = info.get("stop", "?")
    _suptitle(fig, f"{name}: validation error during training ({int(info.get('steps', step[-1]))} steps, "
                   f"{total_sec:.1f} s, stopped by {stop})", 11)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key, col in ((axes[0], "steps", 0), (axes[1], "seconds", 1)):
        xs = adam[:, col]
        for a in np.unique(attempt):
            m = attempt == a
            lbl = "" if a else "max"
            ax.plot(xs[m], adam[m, 3], color="C0", lw=1.2, label=lbl or "_", gid="validation max")
            ax.plot(xs[m], adam[m, 4], color="C0", lw=1.0, ls="--", label="mean" if not a else "_",
                    gid="validation mean")
        # a restart follows the check that found the run collapsed: the last row of an attempt
        starts = np.nonzero(np.diff(attempt) != 0)[0]
        for n, r in enumerate(starts):
            ax.axvline(xs[r], color="0.4", ls=":", lw=1.2, gid="restart", label="restart" if n == 0 else "_")
        ax.plot([kept[col]], [kept[2]], ls="none", marker="*", ms=14, color=WORST, mec="black", clip_on=False,
                gid="kept", label=f"model kept (max {kept[2]:.3g})")
        ax.set_yscale("log")
        ax.set_xlabel(key)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("validation error")
    axes[0].legend(fontsize=8)
    return fig
