"""Input features and output heads, derived from the relation and its domain.

Features and heads are plain, JSON-serialisable dicts so that an artifact records
exactly how a network sees its inputs; `features()` and `heads()` evaluate them
with torch or NumPy alike, so training, the saved model and the NumPy runtime
share one implementation.

Features (each in about [-1, 1]):
- ``linear``: min-max of the input over its global range;
- ``log``: min-max of log(input), for positive inputs spanning a decade or more;
- ``edge``: log of the (relative) distance to a bound where the output is expected
  to change character: a bound that depends on other inputs (``1 <= x2 <= x1``:
  the layer x2 -> x1), or a zero bound of a linearly scaled input (``0 <= x``).
  On seed 001 this feature was what moved the worst error (docs/architecture.md).

Heads (network channels -> output value):
- ``linear``: y = a + b n;
- ``log``: y = sign exp(a + b n), for outputs of one sign;
- ``signed_log``: y = exp(ap + bp n0) - exp(an + bn n1), for outputs whose terms
  have fixed signs but whose sum changes sign (seed 001): each exponential learns
  one group of terms.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..declaration.domain import array_module
from ..declaration.sampling import edge_kind, edge_sides

__all__ = ["IMPLICIT_BOUND", "choose_features", "choose_heads",
           "features", "heads", "links"]

#: Channel bound of implicit outputs' heads: the declared range widened by a half, where
#: the residual allows it (implicit_bound).
IMPLICIT_BOUND = 1.5


def choose_features(relation, scales: dict[str, str] | None = None, groups: bool = True) -> list[dict]:
    """One scaled feature per input, an edge feature for inputs with an edge, and with `groups`
    the log of each positive input charted linearly and one feature per structural group of the
    formula (compiled.feature_groups: the arguments of exp and log, the bases of non-integer
    powers, the inputs' own parts of the formula)."""
    from ..declaration.trees import expr_to_json

    domain = relation.domain
    feats: list[dict] = []
    logs_too: list[dict] = []
    for spec in domain.inputs:
        lo, hi = spec.range
        log = {"kind": "log", "input": spec.name, "lo": math.log(lo), "hi": math.log(hi)} if lo > 0 else None
        if (scales or {}).get(spec.name, spec.scale) == "log":
            feats.append(log)
        else:
            feats.append({"kind": "linear", "input": spec.name, "lo": lo, "hi": hi})
            # a positive input charted linearly (less than a decade wide) gets its log as well, after
            # the inputs: a power law is then linear in the features, so the skip path holds it exactly
            # (T^4 in the grey exchange; on the pump-pipe system log features of H0 and D took 200 LM
            # steps from a mean error of 1.5e-4 to 4e-5; docs/architecture.md, "Heads and features
            # from the formula")
            if groups and log is not None:
                logs_too.append(log)
    feats += logs_too
    for k, side in edge_sides(domain).items():
        name = domain.names[k]
        delta = edge_kind(domain, k).delta
        feats.append(
            {"kind": "log_edge" if domain.log_edge(k) else "edge", "input": name, "side": side, "delta": delta,
             "lo": math.log(delta), "hi": math.log(1.0 + delta)}
        )
    program = relation.program
    for i, ((g, _), (lo, hi)) in enumerate(zip(program.feature_groups if groups else [], program.group_ranges)):
        first = next(n for n in relation.inputs if n in {s.name for s in g.free_symbols})
        feats.append({"kind": "group", "input": first, "index": i, "expr": expr_to_json(g), "lo": lo, "hi": hi})
    return feats


def features(x, specs: list[dict], relation):
    """Network features of physical inputs x [N, d] (torch or NumPy, any float dtype)."""
    domain = relation.domain
    xp = array_module(x)
    names = domain.names
    bounds = None
    cols = []
    for f in specs:
        k = names.index(f["input"])
        v = x[:, k]
        if f["kind"] == "linear":
            t = v
        elif f["kind"] == "log":
            t = xp.log(v)
        elif f["kind"] in ("edge", "log_edge"):
            if bounds is None:
                bounds = domain.bounds(x)
            lo, hi = bounds[0][k], bounds[1][k]
            # clamp: a point a hair outside (rounding) must not give log of a negative
            rel = domain.edge_distance(k, f["side"], v, lo, hi, xp, log=f["kind"] == "log_edge")
            rel = rel.clamp(min=0.0) if xp is not np else np.maximum(rel, 0.0)
            t = xp.log(rel + f["delta"])
        elif f["kind"] == "group":
            backend = "torch" if xp is not np else "numpy"
            t = relation.compiled("feature_group", int(f["index"]), backend)(
                {n: x[:, j] for j, n in enumerate(names)})
        else:  # validated when an artifact is loaded; unreachable from training
            raise ValueError(f"unknown feature kind {f['kind']!r}")
        cols.append(2.0 * (t - f["lo"]) / (f["hi"] - f["lo"]) - 1.0)
    return xp.stack(cols, 1)


def choose_heads(relation, sample: dict[str, np.ndarray]) -> list[dict]:
    """An output head per output, chosen from the output's behaviour on `sample`.

    `sample` maps input names to float64 arrays spread over the domain.
    """
    out = []
    channel = 0
    for o in relation.outputs:
        if not relation.is_explicit:  # implicit: the declared range sets the head
            lo, hi = relation.output_ranges[o]
            log = relation.output_scale(o) == "log"
            if log:
                a, b = 0.5 * (math.log(hi) + math.log(lo)), 0.5 * (math.log(hi) - math.log(lo))
            else:
                a, b = 0.5 * (lo + hi), 0.5 * (hi - lo)
            bound = implicit_bound(relation, o, a, b, log, sample)
            out.append({"kind": "log", "sign": 1.0, "a": a, "b": b, "channels": [channel], "output": o,
                        "bound": bound} if log else
                       {"kind": "linear", "a": a, "b": b, "channels": [channel], "output": o, "bound": bound})
            channel += 1
            continue
        y = np.asarray(relation.compiled("expression", o, "numpy")(sample), dtype=np.float64)
        y = y[np.isfinite(y)]
        sign = relation.program.sign.get(o, 0)
        head: dict[str, Any]
        if sign and o not in relation.normalizer:
            # one sign wherever it is not zero on a face (a zero on a face gets an edge
            # feature, in which log|y| stays linear: log10(x) at x = 1)
            a, b = _log_span(np.abs(y[y != 0]) if np.any(y != 0) else np.ones(1))
            head = {"kind": "log", "sign": float(sign), "a": a, "b": b, "channels": [channel]}
        else:
            groups = relation.program.groups.get(o)
            if groups is not None:
                (ap, bp), (an, bn) = (_log_span(np.abs(np.asarray(relation.compiled(k, o, "numpy")(sample)))
                                                * np.ones(len(next(iter(sample.values())))))
                                      for k in ("group_pos", "group_neg"))
                head = {"kind": "signed_log", "ap": ap, "bp": bp, "an": an, "bn": bn,
                        "channels": [channel, channel + 1]}
            else:
                lo, hi = (float(y.min()), float(y.max())) if y.size else (-1.0, 1.0)
                head = {"kind": "linear", "a": 0.5 * (lo + hi), "b": max(0.5 * (hi - lo), 1e-30),
                        "channels": [channel]}
        head["output"] = o
        channel += len(head["channels"])
        out.append(head)
    return out


def implicit_bound(relation, output: str, a: float, b: float, log: bool, sample: dict[str, np.ndarray]) -> float:
    """How far beyond its declared range an implicit output's head may reach: IMPLICIT_BOUND
    (a half on either side, in the head's coordinates) where every equation stays defined
    and keeps the sign it has at the declared end, else less, down to the declared range.

    Past the range a residual may meet a pole or another root: zeta tan(zeta) = Bi declared
    on (0.05, 1.57) widened by a half reaches 3.7, beyond tan's pole at pi/2, where the
    residual changes sign and training settled on zeta = 3.7 at Bi = 100 (the root is
    1.555).  Checked for one-output relations on `sample` (the other outputs of a system
    have no value to hold without a solve; systems keep IMPLICIT_BOUND)."""
    if len(relation.outputs) != 1 or not sample:
        return IMPLICIT_BOUND
    n = len(next(iter(sample.values())))
    rows = slice(None) if n <= 2048 else slice(None, None, max(1, n // 2048))
    cols = {k: np.asarray(v, dtype=np.float64)[rows] for k, v in sample.items()}
    residuals = [relation.compiled("residual", i, "numpy") for i in range(len(relation.equations))]

    def at(u: float) -> list[np.ndarray]:
        y = math.exp(a + b * u) if log else a + b * u
        env = {**cols, output: np.full(len(next(iter(cols.values()))), y)}
        with np.errstate(all="ignore"):
            return [np.broadcast_to(np.asarray(f(env), dtype=np.float64), env[output].shape) for f in residuals]

    for bound in (IMPLICIT_BOUND, 1.25, 1.1):
        fine = True
        for side in (-1.0, 1.0):
            end = at(side)
            for u in np.linspace(1.0, bound, 9)[1:]:
                for r0, r in zip(end, at(side * u)):
                    keep = np.isfinite(r0) & (r0 != 0)
                    if not np.all(np.isfinite(r[keep])) or np.any(np.sign(r[keep]) != np.sign(r0[keep])):
                        fine = False
        if fine:
            return bound
    return 1.0


def _log_span(v: np.ndarray) -> tuple[float, float]:
    top = float(v.max())
    low = max(float(v.min()), top * 1e-12, np.finfo(np.float64).tiny)
    a = 0.5 * (math.log(top) + math.log(low))
    b = max(0.5 * (math.log(top) - math.log(low)), 1e-3)
    return a, b


def links(net_out, specs: list[dict]) -> list:
    """Per head, the values before the exponential: [] for a linear head, [log|y|] for
    a log head, [log P, log N] for a signed-log head.  Training fits these in log
    space, where the gradient does not vanish when a prediction is far too small."""
    out = []
    for h in specs:
        ch = h["channels"]
        if h["kind"] == "log":
            out.append([h["a"] + h["b"] * _squash(net_out[:, ch[0]], h, array_module(net_out))])
        elif h["kind"] == "signed_log":
            out.append([h["ap"] + h["bp"] * net_out[:, ch[0]], h["an"] + h["bn"] * net_out[:, ch[1]]])
        else:
            out.append([])
    return out


def heads(net_out, specs: list[dict]):
    """Output values [N, m] from network channels [N, c] (torch or NumPy)."""
    xp = array_module(net_out)
    cols = []
    for h in specs:
        ch = h["channels"]
        n0 = _squash(net_out[:, ch[0]], h, xp)
        if h["kind"] == "linear":
            cols.append(h["a"] + h["b"] * n0)
        elif h["kind"] == "log":
            cols.append(h["sign"] * xp.exp(h["a"] + h["b"] * n0))
        elif h["kind"] == "signed_log":
            n1 = net_out[:, ch[1]]
            cols.append(xp.exp(h["ap"] + h["bp"] * n0) - xp.exp(h["an"] + h["bn"] * n1))
        else:
            raise ValueError(f"unknown head kind {h['kind']!r}")
    return xp.stack(cols, 1)


def _squash(n, head: dict, xp):
    """bound * tanh(n / bound) for a head with a bound, else n unchanged.

    Implicit outputs have a declared range that brackets the root; their heads map
    channel values in (-bound, bound) onto that range widened by a half on either
    side.  Without it the residual of the parallel-pipe system drove Q1 and Q2 to
    1e-40 within 17 steps, where the gradient overflowed."""
    bound = head.get("bound")
    return n if bound is None else bound * xp.tanh(n / bound)


def n_channels(specs: list[dict]) -> int:
    return sum(len(h["channels"]) for h in specs)
