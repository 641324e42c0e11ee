"""Fit a relation's unknown parameters to data: a global Sobol search, then a local polish.

Seed 002 is why this module exists: in y = cos(a x1) + exp(b x2) with x1 ~ N(0, 500) the global
minimum in `a` sits in a basin about 0.004 wide, among hundreds of shallow local minima, so any
gradient method started at one guess ends in the wrong basin.  `fit` checks the data and options,
ranks `starts` scrambled-Sobol points of the whole parameter box, polishes the best of distinct
basins with a bounded Levenberg-Marquardt (the numerics live in `surrogate.lstsq`), and reports the
best minimum with standard errors from the Jacobian and warnings wherever the numbers should not
be trusted (a bound, a flat direction, a tie).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..declaration.relation import Relation
from ..errors import DomainError, FitError
from ..model.device import cpu_threads
from .lstsq import (
    _EPS,
    GLOBAL_ROWS,
    MAX_ITER,
    _distinct,
    _distinct_basins,
    _global_view,
    _mad_scale,
    _Model,
    _polish,
    _sobol,
    _uncertainty,
)

__all__ = ["fit", "fit_report", "FitResult", "Minimum"]

LOSSES = ("squared", "absolute", "robust")
# A power of two keeps Sobol's stratification.  Seed 002 with x1 ~ N(0, 500) (a basin ~1/500 of a's
# range) was solved on 20 of 20 seeds from 256 starts up, 13 of 20 at 128: 4096 leaves a 16x margin
# in basin width for ~0.3 s of float32 evaluation at 10^4 rows on one core.
DEFAULT_STARTS = 4096
DEFAULT_POLISH = 8
ILL_CONDITIONED = 1e6
AT_BOUND_RTOL = 1e-6  # of the bound width


@dataclass(frozen=True)
class Minimum:
    """One distinct polished minimum: parameter values, its loss, and whether the polish converged."""

    values: dict[str, float]
    loss: float
    converged: bool


@dataclass(frozen=True, eq=False)
class FitResult:
    """The outcome of `fit`: the best parameters, their uncertainty, and what to be wary of.

    `loss` is the mean of the loss function over the residuals (mean squared residual for
    ``loss="squared"``).  `stderr` comes from the Jacobian J of the residuals at the optimum:
    cov = s^2 (J^T J)^-1 with s^2 = SSR / (n - p); it is ``inf`` for parameters the data cannot
    identify, and it assumes an interior optimum (see `warnings` for parameters at a bound).  The
    absolute and robust losses use the same least-squares formula, which outliers inflate.
    `success` is True when the best minimum's polish converged to a finite loss, every parameter
    is identifiable and no other minimum fits as well; `warnings` say why not, and what else to
    distrust (a parameter at a bound, an ill-conditioned Jacobian, omitted rows).
    """

    values: dict[str, float]
    stderr: dict[str, float]
    correlation: pd.DataFrame
    loss: float
    n_points: int
    minima: list[Minimum]
    warnings: list[str]
    success: bool
    bounds: dict[str, tuple[float, float]]
    at_bound: dict[str, bool]
    condition: float
    options: dict[str, Any]
    relation: Relation = field(repr=False)

    def to_json(self) -> dict:
        """The fit as strict JSON (`surrogate fit -o`): a non-finite number (the stderr of a parameter
        the data cannot identify) is null."""
        import math

        def number(v: float) -> float | None:
            return v if math.isfinite(v) else None

        return {
            "relation": self.relation.name,
            "values": {n: number(v) for n, v in self.values.items()},
            "stderr": {n: number(v) for n, v in self.stderr.items()},
            "loss": number(self.loss),
            "n_points": self.n_points,
            "success": self.success,
            "warnings": self.warnings,
            "options": self.options,
        }

    @property
    def relation_fitted(self) -> Relation:
        """The relation with the fitted values substituted for its parameters."""
        return self.relation.substitute(self.values)

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: value, stderr, low, high, at_bound."""
        rows = {
            n: {
                "value": self.values[n],
                "stderr": self.stderr[n],
                "low": self.bounds[n][0],
                "high": self.bounds[n][1],
                "at_bound": self.at_bound[n],
            }
            for n in self.values
        }
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "parameter"
        return frame

    def __str__(self) -> str:
        name = f" {self.relation.name!r}" if self.relation.name else ""
        lines = [
            f"fit of relation{name} to {self.n_points} points: {'success' if self.success else 'NOT RELIABLE'}",
            f"loss ({self.options['loss']}, mean over residuals) = {self.loss:.6g}; "
            f"{len(self.minima)} distinct {'minimum' if len(self.minima) == 1 else 'minima'} "
            f"from {self.options['starts']} Sobol starts",
            "",
            self.to_frame().to_string(float_format=lambda v: f"{v:.10g}"),
        ]
        if len(self.values) > 1:
            lines += ["", "correlation:", self.correlation.to_string(float_format=lambda v: f"{v:.3f}")]
        if self.warnings:
            lines += ["", "warnings:"] + [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)


# -- the public functions ----------------------------------------------------------------


def fit(
    relation: Relation,
    data,
    *,
    loss: str = "squared",
    starts: int | None = None,
    polish: int = DEFAULT_POLISH,
    nan: str = "raise",
    outside: str = "raise",
    bounds: Mapping[str, tuple[float, float]] | None = None,
    f_scale: float | None = None,
    seed: int = 0,
    device: str = "cpu",
) -> FitResult:
    """Fit the parameters of an explicit `relation` to `data` (global search, then local polish).

    `data` is a DataFrame (or a mapping of columns) with one column per input and at least one
    output, matched by name; other columns are ignored.  Several outputs are stacked into one
    residual vector without weights, so give them comparable units.

    loss
        ``"squared"`` (least squares), ``"absolute"`` (least absolute deviations) or ``"robust"``
        (soft-L1: quadratic for residuals below `f_scale`, linear beyond, so outliers pull less).
    starts
        Sobol points for the global search (default 4096, best a power of two).  Basins narrower
        than about 1/`starts` of a parameter's range can be missed: raise it when they matter.
    polish
        Candidates from distinct basins polished by Levenberg-Marquardt.
    nan
        ``"raise"`` on NaN or infinite entries in the used columns, or ``"omit"`` those rows.
    outside
        ``"raise"`` (DomainError) when a row lies outside the input bounds, or ``"allow"``.
    bounds
        ``{name: (low, high)}`` overriding the relation's parameter bounds for this fit.
    f_scale
        Residual scale of the robust loss; default 1.4826 * MAD of the best candidate's residuals,
        re-estimated once after the polish.
    seed
        Seeds the Sobol scrambling and the row subset of the global stage: results are repeatable.
    device
        ``"cpu"``, ``"cuda"`` or ``"auto"``.

    Raises FitError for unusable data or options (missing or non-numeric columns, NaN, a relation
    without parameters, non-finite bounds, too few rows) and DomainError for rows outside the
    input bounds.  Never raises for a poor fit: that is reported in `warnings` and `success`.
    """
    _check_options(loss, starts, polish, nan, outside, f_scale)
    dev = _device(device)
    starts = DEFAULT_STARTS if starts is None else starts
    box = _parameter_box(relation, bounds)
    table = _table(relation, data, nan=nan, outside=outside)
    if table.x.shape[0] <= len(box):
        raise FitError(
            f"{table.x.shape[0]} usable rows for {len(box)} parameters; fitting needs more rows than parameters"
        )
    # the global stage scores `starts` points on up to GLOBAL_ROWS rows at once: the threads by that
    # (model/device.py's rule; seed 002's 10 000 rows and 4096 starts get one thread)
    with cpu_threads(starts * min(table.x.shape[0], GLOBAL_ROWS), device=dev):
        model = _model(relation, table, box, loss, dev)
        if loss == "robust":
            # Until residuals exist, the spread of the outputs is the scale of a poor fit's residuals.
            start = float(f_scale) if f_scale is not None else _mad_scale(model, None, model.residual_floor)
            model = model.with_scale(start)
        low = torch.tensor([b[0] for b in box.values()], dtype=torch.float64, device=dev)
        high = torch.tensor([b[1] for b in box.values()], dtype=torch.float64, device=dev)

        glob = _global_view(model, seed)
        theta = _sobol(low, high, starts, seed)
        fast = glob.view(dtype=torch.float32)
        scores = fast.losses(theta.to(torch.float32))
        if not torch.isfinite(scores).any():  # float32 overflowed everywhere: rank in float64 instead
            fast, scores = glob, glob.losses(theta)
        chosen = _distinct_basins(fast, theta, scores, polish)
        if loss == "robust" and f_scale is None:
            model = model.with_scale(_mad_scale(glob, theta[chosen[:1]], model.residual_floor))

        points, losses, converged = _polish(model, theta[chosen], low, high)
        if loss == "robust" and f_scale is None:
            # Re-estimate the scale from the polished residuals (the global best can sit in a wrong basin).
            best = int(torch.argmin(losses))
            model = model.with_scale(_mad_scale(model, points[best : best + 1], model.residual_floor))
            points, losses, converged = _polish(model, points, low, high)
        return _result(relation, model, box, table, points, losses, converged, low, high,
                       dict(loss=loss, starts=starts, polish=polish, seed=seed, device=str(dev),
                            f_scale=model.f_scale if loss == "robust" else None))


def fit_report(relation: Relation, csv_path, **options) -> str:
    """Read a CSV file, `fit` the relation to it and return the readable report.

    Raises FitError when the file cannot be read or parsed, and whatever `fit` raises.
    """
    try:
        data = pd.read_csv(csv_path)
    except (OSError, ValueError) as exc:  # pandas' parser errors derive from ValueError
        raise FitError(f"cannot read {str(csv_path)!r} as CSV: {exc}") from exc
    return str(fit(relation, data, **options))


# -- validation at the boundary ------------------------------------------------------------


def _check_options(loss, starts, polish, nan, outside, f_scale) -> None:
    problems = []
    if loss not in LOSSES:
        problems.append(f"loss is {loss!r}; use one of {', '.join(map(repr, LOSSES))}")
    for name, v in (("starts", starts), ("polish", polish)):
        if (v is not None or name == "polish") and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            problems.append(f"{name} is {v!r}; give a positive integer")
    if nan not in ("raise", "omit"):
        problems.append(f"nan is {nan!r}; use 'raise' or 'omit'")
    if outside not in ("raise", "allow"):
        problems.append(f"outside is {outside!r}; use 'raise' or 'allow'")
    if f_scale is not None and not (isinstance(f_scale, (int, float)) and math.isfinite(f_scale) and f_scale > 0):
        problems.append(f"f_scale is {f_scale!r}; give a positive number or None")
    if problems:
        raise FitError("; ".join(problems))


def _device(device) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise FitError(f"device is {device!r}; use 'cpu', 'cuda' or 'auto'") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise FitError(f"device is {device!r} but CUDA is not available; use device='cpu' or 'auto'")
    return dev


def _parameter_box(relation: Relation, bounds) -> dict[str, tuple[float, float]]:
    """Parameter name -> finite (low, high), the relation's bounds overridden by `bounds`."""
    if not relation.is_explicit:
        raise FitError(
            f"relation {relation.name or ''!r} is implicit; fit needs an explicit relation, every output given "
            "as Eq(output, expression of inputs and parameters)"
        )
    if not relation.parameters:
        raise FitError(
            f"relation {relation.name or ''!r} has no parameters to fit; declare them with "
            "parameters={symbol: (low, high)}"
        )
    box = relation.parameter_bounds
    problems = []
    for key, pair in (bounds or {}).items():
        name = getattr(key, "name", key)
        if name not in box:
            problems.append(f"bounds given for {name!r}, which is not a parameter; parameters are {', '.join(box)}")
            continue
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            problems.append(f"bounds for {name} are {pair!r}; give a (low, high) pair of numbers")
            continue
        box[name] = (lo, hi)
    for name, (lo, hi) in box.items():
        if not (math.isfinite(lo) and math.isfinite(hi)):
            problems.append(
                f"parameter {name} has bounds ({lo!r}, {hi!r}); the global search needs finite bounds: "
                f"pass bounds={{{name!r}: (low, high)}}"
            )
        elif not lo < hi:
            problems.append(f"parameter {name} has low >= high: ({lo!r}, {hi!r}); bounds are never swapped")
    if problems:
        raise FitError("; ".join(problems))
    return box


@dataclass(frozen=True)
class _Table:
    x: np.ndarray  # [N, inputs] float64
    y: np.ndarray  # [N, fitted outputs] float64
    outputs: list[str]
    notes: list[str]


def _table(relation: Relation, data, *, nan: str, outside: str) -> _Table:
    """The used columns as float64 arrays, after every check on the data (all problems at once)."""
    if isinstance(data, Mapping):
        try:
            data = pd.DataFrame(dict(data))
        except ValueError as exc:
            raise FitError(f"data could not be made into a table: {exc}; pass a pandas DataFrame") from exc
    if not isinstance(data, pd.DataFrame):
        raise FitError(f"data is a {type(data).__name__}; pass a pandas DataFrame with columns named after the symbols")
    columns = {str(c): c for c in data.columns}
    missing = [n for n in relation.inputs if n not in columns]
    outputs = [n for n in relation.outputs if n in columns]
    used = [n for n in relation.inputs if n in columns] + outputs
    bad = [n for n in used if not _numeric(data[columns[n]])]
    problems = []
    if missing:
        problems.append(f"data has no column for input{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if not outputs:
        problems.append(f"data has no column for the output{'s' if len(relation.outputs) > 1 else ''} "
                        f"{', '.join(relation.outputs)}")
    if missing or not outputs:
        have = ", ".join(map(str, columns)) or "none"
        problems[-1] += f" (columns are {have}); name the columns after the relation's symbols"
    if bad:
        kinds = ", ".join(f"{n} ({data[columns[n]].dtype})" for n in bad)
        problems.append(f"column{'s' if len(bad) > 1 else ''} {kinds} {'are' if len(bad) > 1 else 'is'} not numeric; "
                        "convert with pd.to_numeric first")
    if problems:
        raise FitError("; ".join(problems))
    values = data[[columns[n] for n in used]].to_numpy(dtype=np.float64, na_value=np.nan)
    notes = []
    finite = np.isfinite(values)
    if not finite.all():
        rows = ~finite.all(1)
        counts = ", ".join(f"{n} ({int((~finite[:, j]).sum())})" for j, n in enumerate(used) if not finite[:, j].all())
        if nan == "raise":
            first = ", ".join(map(repr, data.index[rows][:5].tolist()))
            raise FitError(f"NaN or infinite values in column(s) {counts}, first at row(s) {first}; "
                           "drop those rows or pass nan='omit'")
        notes.append(f"omitted {int(rows.sum())} rows with NaN or infinite values in {counts}")
        values, data = values[~rows], data[~rows]
    if values.shape[0] == 0:
        raise FitError("no usable rows in data")
    x, y = values[:, : len(relation.inputs)], values[:, len(relation.inputs) :]
    notes += _check_domain(relation, x, data.index, outside)
    return _Table(x=x, y=y, outputs=outputs, notes=notes)


def _numeric(series: pd.Series) -> bool:
    t = series.dtype
    return (pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
            and not pd.api.types.is_complex_dtype(t))


def _check_domain(relation: Relation, x: np.ndarray, index, outside: str) -> list[str]:
    inside = np.asarray(relation.domain.contains(x), dtype=bool)
    if inside.all():
        return []
    rows = np.nonzero(~inside)[0]
    if outside == "allow":
        return [f"{rows.size} rows lie outside the input bounds and were fitted anyway (outside='allow')"]
    found = relation.domain.violations(x[rows], limit=3)
    labels = index[rows[:3]].tolist()  # three entries come from the first three offending rows at most
    where = "; ".join(f"row {labels[i]!r}: {n} = {v:.6g} outside [{lo:.6g}, {hi:.6g}]" for i, n, v, lo, hi in found)
    raise DomainError(
        f"{rows.size} rows of data lie outside the input bounds of relation {relation.name or ''!r} ({where}); "
        "drop them, widen the bounds, or pass outside='allow'"
    )


def _model(relation: Relation, table: _Table, box, loss: str, dev: torch.device) -> _Model:
    """The checked table as a float64 residual model on `dev` (see `surrogate.lstsq._Model`)."""
    inputs = {n: torch.tensor(table.x[:, j], device=dev).reshape(1, -1) for j, n in enumerate(relation.inputs)}
    target = torch.tensor(table.y.T.reshape(1, -1), device=dev)
    rms = float(torch.sqrt((target * target).mean()))
    floor = 64 * _EPS * rms + 1e-300
    fns = tuple(relation.compiled("expression", o, "torch") for o in table.outputs)
    return _Model(fns, tuple(box), inputs, target, loss, f_scale=1.0, residual_floor=floor)


# -- the result -------------------------------------------------------------------------------


def _fmt_values(values: dict[str, float]) -> str:
    return ", ".join(f"{k} = {v:.6g}" for k, v in values.items())


def _result(relation, model, box, table, points, losses, converged, low, high, options) -> FitResult:
    names = list(box)
    kept = _distinct(points, losses, high - low)
    minima = [Minimum(dict(zip(names, points[i].tolist())), float(losses[i]), bool(converged[i])) for i in kept]
    values = dict(zip(names, points[kept[0]].tolist()))
    r, jac = model.jacobian(points[kept[0]][None])
    if math.isfinite(minima[0].loss) and bool(torch.isfinite(jac).all()):
        se, corr, cond, blind = _uncertainty(jac[0], r[0])
    else:
        se, corr, cond, blind = np.full(len(names), np.nan), np.full((len(names),) * 2, np.nan), math.nan, []
    at_bound = {n: min(values[n] - lo, hi - values[n]) <= AT_BOUND_RTOL * (hi - lo) for n, (lo, hi) in box.items()}
    # Minima whose SSR differs by less than s^2 (a chi-square difference below 1): the data cannot rank them.
    ties = [mn for mn in minima[1:] if mn.loss - minima[0].loss <= abs(minima[0].loss) / r.shape[1] + model.loss_floor]
    notes = list(table.notes) + _warnings(values, box, at_bound, [names[j] for j in blind], cond, minima, ties)
    return FitResult(
        values=values,
        stderr=dict(zip(names, map(float, se))),
        correlation=pd.DataFrame(corr, index=names, columns=names),
        loss=minima[0].loss,
        n_points=int(table.x.shape[0]),
        minima=minima,
        warnings=notes,
        success=minima[0].converged and math.isfinite(minima[0].loss) and not blind and not ties,
        bounds=dict(box),
        at_bound=at_bound,
        condition=cond,
        options=options,
        relation=relation,
    )


def _warnings(values, box, at_bound, blind, cond, minima, ties) -> list[str]:
    """What to distrust in a fit, each with what to do about it."""
    out = []
    for n, hit in at_bound.items():
        if hit:
            lo, hi = box[n]
            side = "lower" if values[n] - lo <= hi - values[n] else "upper"
            out.append(f"{n} = {values[n]:.6g} is at its {side} bound: the best fit may lie outside "
                       f"({lo:.6g}, {hi:.6g}); widen the bounds (its stderr assumes an interior optimum)")
    if blind:
        out.append(f"not identifiable: {', '.join(blind)} (Jacobian condition number {cond:.3g}); the data "
                   "determine only a combination of them, so their stderr is inf; fix one or reparametrise")
    elif cond > ILL_CONDITIONED:
        out.append(f"ill-conditioned Jacobian (condition number {cond:.3g}): strongly correlated parameters; "
                   "their values are uncertain along the correlated direction")
    if ties:
        others = "; ".join(_fmt_values(mn.values) for mn in ties[:3])
        out.append(f"{len(ties) + 1} distinct minima fit about equally well (loss {minima[0].loss:.6g}): "
                   f"{_fmt_values(values)}; {others}; the data cannot tell them apart: narrow the bounds")
    if not minima[0].converged:
        out.append(f"the polish did not converge in {MAX_ITER} iterations")
    if not math.isfinite(minima[0].loss):
        out.append("the loss is not finite at any start: check the data and the parameter bounds")
    return out
