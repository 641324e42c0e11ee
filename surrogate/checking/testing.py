"""Hypothesis strategies and assertions for property tests of a surrogate.

    from hypothesis import given
    from surrogate.testing import assert_accurate, points

    @given(points(model))
    def test_accurate(point):
        assert_accurate(model, model.relation, point, tolerance=1e-2)

`points` draws in chart coordinates, so every example respects dependent bounds;
it puts explicit weight on the bounds themselves and on thin layers next to them,
where surrogates fail first, and its examples shrink towards the low corner.
`assert_accurate` measures the error the certificate uses (docs/architecture.md) and steers
Hypothesis towards the worst error it can find with `hypothesis.target`.

Nothing here imports torch: the strategies and the assertion work with the
NumPy-only runtime too.  Nothing happens at import time; call
`register_profiles()` to get the ``surrogate-ci`` and ``surrogate-thorough``
settings profiles.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
from hypothesis import (
    HealthCheck,
    Phase,
    Verbosity,
    currently_in_test_context,
    given,
    reject,
    settings,
    target,
)
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from ..declaration.domain import Domain
from ..declaration.metric import DEFINITION, error
from ..declaration.reference import explicit_reference
from ..declaration.relation import Relation
from ..errors import DomainError, SurrogateError

__all__ = ["points", "assert_accurate", "error_at", "worst_case", "with_hypothesis", "register_profiles", "PROFILES"]

#: The settings profiles `register_profiles` registers, by name.
PROFILES: dict[str, dict[str, Any]] = {
    # reproducible in CI; a failure prints the blob that replays it with @reproduce_failure
    "surrogate-ci": {"derandomize": True, "deadline": None, "print_blob": True},
    # a long search before a release
    "surrogate-thorough": {"max_examples": 2000, "deadline": None},
}

#: How each chart coordinate is drawn.  `sampled_from` shrinks towards the first
#: entry, so a failing example shrinks towards the low bound of every input; the
#: repeats are the weights (the bounds 1/9 each, the layers next to them 1/9 each,
#: the interior 4/9, exact powers of ten 1/9 for log-scaled inputs).
_KINDS = ("low", "high", "near_low", "near_high", "interior", "interior", "decade", "interior", "interior")
#: Relative depth of the layers next to a bound: 10**-1 down to 10**-_NEAR.
_NEAR = 15.0
_TINY = {"float64": float(np.finfo(np.float64).tiny), "float32": float(np.finfo(np.float32).tiny)}
_ERROR = DEFINITION


def register_profiles() -> tuple[str, ...]:
    """Register the Hypothesis settings profiles in `PROFILES`; returns their names.

    ``surrogate-ci``: derandomised (the same examples on every run), no deadline
    (a model's first call may be slow), and the reproduction blob printed on
    failure.  ``surrogate-thorough``: 2000 examples, no deadline.  Load one with
    ``hypothesis.settings.load_profile(name)``, typically in a ``conftest.py``.
    """
    for name, options in PROFILES.items():
        settings.register_profile(name, **options)
    return tuple(PROFILES)


# -- the strategy ---------------------------------------------------------------------------
def points(relation_or_model, *, dtype: str | None = None) -> st.SearchStrategy[dict[str, float]]:
    """A Hypothesis strategy of points ``{input name: float}`` inside the domain.

    `relation_or_model` is a Relation, a Domain, or a model with a ``relation`` (a trained
    Surrogate, a NumPy runtime model).  Every coordinate is drawn in chart
    coordinates and mapped in float64 in dependency order, so dependent bounds
    (``1 <= x2 <= x1``) hold; each value is then clamped to the bounds computed at
    the point, so membership (``domain.contains``) is exact, bounds included.
    Examples reach the bounds themselves, the layers next to them (down to a
    relative distance of 1e-15), the interior uniformly in the chart (every
    decade of a log-scaled input) and exact powers of ten; they shrink towards
    the low corner.  No value is subnormal.

    `dtype` is ``"float64"`` or ``"float32"``; by default the dtype of the model
    (float64 for a relation or a domain).  With float32 every value is a float32
    number that still lies inside the domain, so a model fed float32 inputs sees
    exactly the tested point.
    """
    domain, model_dtype = _domain_of(relation_or_model)
    dtype = _dtype_name(dtype if dtype is not None else model_dtype)
    if dtype not in _TINY:
        raise ValueError(f"dtype must be 'float64' or 'float32', not {dtype!r}")
    for spec in domain.inputs:
        if not spec.dependent and all(_representable(v, *spec.range, dtype) is None for v in spec.range):
            lo, hi = spec.range
            hint = "test with dtype='float64' or widen the bounds" if dtype == "float32" else "widen the bounds"
            raise ValueError(f"no normal {dtype} number lies between the bounds of {spec.name} ({lo!r}, {hi!r}); "
                             + hint)
    return _points(domain, dtype)


def _domain_of(obj) -> tuple[Domain, Any]:
    if isinstance(obj, Domain):
        return obj, "float64"
    if isinstance(obj, Relation):
        return obj.domain, "float64"
    rel = getattr(obj, "relation", None)
    if isinstance(rel, Relation):
        return rel.domain, getattr(obj, "dtype", "float64")
    raise TypeError(
        f"points needs a Relation, a Domain or a model with a .relation, not {type(obj).__name__}; "
        "for example points(model) or points(model.relation)"
    )


def _dtype_name(dtype: Any) -> str:
    return str(dtype).replace("torch.", "").replace("numpy.", "")


def _coordinate(is_log: bool) -> st.SearchStrategy[tuple[str, float]]:
    kinds = _KINDS if is_log else tuple(k if k != "decade" else "interior" for k in _KINDS)
    return st.tuples(st.sampled_from(kinds), st.floats(0.0, 1.0, allow_subnormal=False))


@st.composite
def _points(draw, domain: Domain, dtype: str) -> dict[str, float]:
    # Everything is drawn first, in declaration order, and resolved against the
    # bounds at the point afterwards: a "decade" or "near" draw means the same
    # thing whatever the bounds of that input turn out to be.
    drawn = [draw(_coordinate(spec.scale == "log")) for spec in domain.inputs]
    cols: dict[str, np.ndarray] = {}
    for k in domain.order:
        spec = domain.inputs[k]
        # the same compiled bound functions `domain.contains` uses, at the values already chosen
        lo = _scalar(domain._bound(k, "low", cols, np))
        hi = _scalar(domain._bound(k, "high", cols, np))
        v = _resolve(*drawn[k], lo, hi, spec.scale == "log")
        v = min(max(v, lo), hi)  # exp(log(lo)) may miss lo by an ulp; clamp, never leave the domain
        v = _representable(v, lo, hi, dtype)
        if v is None or not math.isfinite(v):
            reject()  # no float32 (or no normal float) lies between the bounds at this point
        cols[spec.name] = np.array([v])
    x = np.array([[cols[n][0] for n in domain.names]])
    if not bool(domain.contains(x)[0]):
        reject()  # a bound evaluated differently in a batch; never hand out a point outside
    return {n: float(cols[n][0]) for n in domain.names}


def _scalar(v) -> float:
    return float(np.asarray(v).reshape(-1)[0])


def _resolve(kind: str, t: float, lo: float, hi: float, is_log: bool) -> float:
    """A value in [lo, hi] (up to rounding) for one drawn coordinate."""
    if kind == "low":
        return lo
    if kind == "high":
        return hi
    if kind == "decade":
        first, last = math.ceil(math.log10(lo)), math.floor(math.log10(hi))
        if first <= last:
            return float(f"1e{first + min(int(t * (last - first + 1)), last - first)}")
        kind = "interior"
    if kind in ("near_low", "near_high"):
        u = 10.0 ** -(1.0 + t * (_NEAR - 1.0))  # relative distance 1e-1 .. 1e-15, shrinking to 1e-1
        if is_log:
            llo, lhi = math.log(lo), math.log(hi)
            return math.exp(llo + (lhi - llo) * u) if kind == "near_low" else math.exp(lhi - (lhi - llo) * u)
        return lo + (hi - lo) * u if kind == "near_low" else hi - (hi - lo) * u
    if is_log:
        llo, lhi = math.log(lo), math.log(hi)
        return math.exp(llo + (lhi - llo) * t)
    return lo + (hi - lo) * t


def _representable(v: float, lo: float, hi: float, dtype: str) -> float | None:
    """v made a normal (or zero) number of `dtype` inside [lo, hi], or None if there is none."""
    v = _normal(v, lo, hi, _TINY[dtype])
    if v is not None and dtype == "float32":
        v = _float32_inside(v, lo, hi)
    return v


def _normal(v: float, lo: float, hi: float, tiny: float) -> float | None:
    """v, or the nearest number in [lo, hi] that is 0 or normal, if v is subnormal."""
    if v == 0.0 or abs(v) >= tiny:
        return v
    for c in (0.0, math.copysign(tiny, v), -math.copysign(tiny, v)):
        if lo <= c <= hi:
            return c
    return None


def _float32_inside(v: float, lo: float, hi: float) -> float | None:
    """The float32 number nearest to v inside [lo, hi], or None if there is none."""
    f = np.float32(v)
    if float(f) < lo:
        f = np.nextafter(f, np.float32(np.inf))
    elif float(f) > hi:
        f = np.nextafter(f, np.float32(-np.inf))
    out = float(f)
    if not (lo <= out <= hi) or (out != 0.0 and abs(out) < _TINY["float32"]):
        return None
    return out


# -- the error and the assertion ----------------------------------------------------------------
def error_at(model, relation: Relation | None, point: Mapping[str, Any], *, atol: float = 0.0) -> dict[str, np.ndarray]:
    """The error of `model` against `relation` at `point`, per output, with its parts.

    `point` maps every input to a number or a 1-d array.  Returns a dict of float64
    arrays ``{"x": [N, d], "prediction": [N, m], "reference": [N, m], "scale": [N, m],
    "error": [N, m]}``; the error is ``|y_hat - y| / max(S(x), atol)`` with the
    reference y and the term scale S computed in float64 by the relation, and is
    inf where the prediction is not finite.
    """
    relation = _relation_of(model, relation)
    if not relation.is_explicit:
        raise SurrogateError("accuracy checks handle explicit relations only, for now")
    if not (atol >= 0 and math.isfinite(atol)):
        raise ValueError(f"atol must be a finite number >= 0, not {atol!r}")
    x = _matrix(point, relation.inputs)
    found = explicit_reference(relation, x)
    ref, scale = found.values, found.scales
    pred = _predict(model, x, relation)
    err = error(pred, ref, scale, atol)
    return {"x": x, "prediction": pred, "reference": ref, "scale": scale, "error": err}


def assert_accurate(model, relation: Relation | None, point: Mapping[str, Any], *, tolerance: float,
                    atol: float = 0.0, label: str = "surrogate error") -> float:
    """Assert that `model`'s error at `point` is at most `tolerance`; return the error.

    The error is the certificate's: ``|y_hat - y| / max(S(x), atol)``, with the
    float64 reference and term scale S from `relation` (the model's own when
    None), the largest over the outputs (and over the rows, if `point` holds
    arrays).  `model` is a Surrogate or any object with ``evaluate(x [N, d]) ->
    [N, m]`` or ``__call__(**inputs) -> {output: array}`` (the NumPy runtime).

    Inside a Hypothesis test it reports the error with ``hypothesis.target(error,
    label=label)`` so the search climbs towards the worst point; call it once per
    example or give each call its own `label`.  Raises AssertionError showing the
    point, the reference, the prediction and the error when the error is above
    the tolerance or not finite; raises DomainError (or, inside a Hypothesis test,
    rejects the example) where the relation itself is NaN or infinite.
    """
    if not (isinstance(tolerance, (int, float)) and tolerance > 0 and math.isfinite(tolerance)):
        raise ValueError(f"tolerance must be a positive number, not {tolerance!r}")
    relation = _relation_of(model, relation)
    parts = error_at(model, relation, point, atol=atol)
    defined = np.all(np.isfinite(parts["reference"]) & np.isfinite(parts["scale"]), 1)
    if not np.all(defined):
        if currently_in_test_context():
            reject()
        row = int(np.argmin(defined))
        raise DomainError(f"the relation is undefined (NaN or inf) at {_point_text(relation, parts['x'][row])}; "
                          "the accuracy of a surrogate is not defined there")
    per_row = parts["error"].max(1)
    row = int(np.argmax(per_row))
    error = float(per_row[row])
    if currently_in_test_context():
        target(error if math.isfinite(error) else sys.float_info.max, label=label)
    if not error <= tolerance:
        raise AssertionError(_failure(relation, parts, row, tolerance, atol))
    return error


def _relation_of(model, relation: Relation | None) -> Relation:
    own = getattr(model, "relation", None)
    relation = relation if relation is not None else own
    if not isinstance(relation, Relation):
        raise TypeError(f"no relation to check against: pass one (got {type(relation).__name__}) "
                        f"or a model with a .relation")
    m_in, m_out = getattr(model, "inputs", None), getattr(model, "outputs", None)
    if (m_in is not None and list(m_in) != list(relation.inputs)) or (
            m_out is not None and list(m_out) != list(relation.outputs)):
        raise SurrogateError(
            f"the model maps {', '.join(m_in or [])} -> {', '.join(m_out or [])} but the relation has "
            f"inputs {', '.join(relation.inputs)} and outputs {', '.join(relation.outputs)}"
        )
    return relation


def _matrix(point: Mapping[str, Any], names: list[str]) -> np.ndarray:
    if not isinstance(point, Mapping):
        raise TypeError(f"point must be a dict of input name -> value, not {type(point).__name__}")
    missing = [n for n in names if n not in point]
    extra = [n for n in point if n not in names]
    if missing or extra:
        raise DomainError(
            f"the point must give exactly the inputs {', '.join(names)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(map(str, extra))}" if extra else "")
        )
    cols = [np.asarray(point[n], dtype=np.float64).reshape(-1) for n in names]
    n = max(c.size for c in cols)
    if any(c.size not in (1, n) for c in cols):
        raise DomainError("the point's arrays have different lengths; give numbers or arrays of one length")
    return np.stack([np.broadcast_to(c, (n,)) for c in cols], 1)


def _predict(model, x: np.ndarray, relation: Relation) -> np.ndarray:
    """[N, m] float64 predictions, in the relation's output order."""
    m = len(relation.outputs)
    if hasattr(model, "evaluate"):
        out = np.asarray(model.evaluate(x), dtype=np.float64)
        return out.reshape(len(x), m)
    if callable(model):
        out = model(**{n: x[:, j] for j, n in enumerate(relation.inputs)})
        if isinstance(out, Mapping):
            return np.stack([np.asarray(out[o], np.float64).reshape(len(x)) for o in relation.outputs], 1)
        return np.asarray(out, dtype=np.float64).reshape(len(x), m)
    raise TypeError(f"the model must have .evaluate(x) or be callable with keyword inputs, not {type(model).__name__}")


def _point_text(relation: Relation, x: np.ndarray) -> str:
    return ", ".join(f"{n}={float(v)!r}" for n, v in zip(relation.inputs, x))


def _failure(relation: Relation, parts: dict[str, np.ndarray], row: int, tolerance: float, atol: float) -> str:
    err = parts["error"][row]
    lines = [
        f"surrogate error {float(err.max()):.4g} > tolerance {tolerance:g} at",
        f"  point      {_point_text(relation, parts['x'][row])}",
    ]
    for j, o in enumerate(relation.outputs):
        p, r, s = (float(parts[k][row, j]) for k in ("prediction", "reference", "scale"))
        lines.append(f"  {o:<10} predicted {p!r}, reference {r!r}, |difference| {abs(p - r):.4g}, "
                     f"term scale {s:.4g}, error {float(err[j]):.4g}")
    lines.append(f"  error      {_ERROR}" + (f", atol={atol:g}" if atol else ""))
    if len(parts["x"]) > 1:
        lines.append(f"  (the worst of {len(parts['x'])} rows)")
    return "\n".join(lines)


# -- a search for the CLI and the bench ---------------------------------------------------------
def worst_case(model, relation: Relation | None = None, *, examples: int = 1000, atol: float = 0.0,
               seed: int = 0, dtype: str = "float64") -> tuple[float, dict[str, float]]:
    """(largest error, point) over `examples` Hypothesis examples of `points`.

    Hypothesis draws from `points(relation, dtype=dtype)` and, in its second
    half, climbs the error with targeted search.  Reproducible for a given
    `seed`; writes no example database.  Points where the relation is undefined
    are skipped.  The error is the largest over the outputs.
    """
    if not (isinstance(examples, int) and examples >= 1):
        raise ValueError(f"examples must be a positive integer, not {examples!r}")
    relation = _relation_of(model, relation)
    best: dict[str, Any] = {"error": -math.inf, "point": {}}

    @hypothesis_seed(seed)
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False, print_blob=False,
              phases=(Phase.generate, Phase.target), suppress_health_check=list(HealthCheck),
              verbosity=Verbosity.quiet)
    @given(points(relation, dtype=dtype))
    def search(point):
        parts = error_at(model, relation, point, atol=atol)
        if not np.all(np.isfinite(parts["reference"]) & np.isfinite(parts["scale"])):
            reject()
        error = float(parts["error"].max())
        target(error if math.isfinite(error) else sys.float_info.max, label="surrogate error")
        if error > best["error"]:
            best["error"], best["point"] = error, dict(point)

    search()
    return best["error"], best["point"]


def with_hypothesis(model, cert, examples: int, atol: float, seed: int):
    """`cert` with a targeted Hypothesis search of `examples` examples (`worst_case`) folded into its
    max error and worst point (`surrogate verify --hypothesis`)."""
    import dataclasses

    error, point = worst_case(model, examples=examples, atol=atol, seed=seed)
    found = {"examples": examples, "max_error": error, "worst": point}
    search = {**cert.search, "hypothesis": found,
              "method": f"{cert.search.get('method', 'none')}; then {examples} targeted Hypothesis examples "
                        f"(max {error:.4g})"}
    if not point or error <= cert.max_error:
        return dataclasses.replace(cert, search=search)
    parts = error_at(model, model.relation, point, atol=atol)
    worst = dict(point)
    for j, o in enumerate(model.outputs):
        worst[o] = float(parts["prediction"][0, j])
        worst[f"{o}_reference"] = float(parts["reference"][0, j])
    return dataclasses.replace(cert, max_error=error, worst=worst, search=search)
