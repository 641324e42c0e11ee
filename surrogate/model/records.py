"""The records that checking produces and every later stage stores, prints or draws:
`Certificate` (verify's sampled figures) and `Proof` (prove's rigorous bound).

Plain data: built by `surrogate.checking`, stored in an artifact by `surrogate.model.format`,
shown by `surrogate.interface`.  Nothing here computes an error.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..declaration.display import inline, markdown_table, number, symbol_latex
from ..declaration.metric import DEFINITION

__all__ = ["Certificate", "Proof", "ROUNDING"]

ROUNDING = (
    "stated safety margin, not directed rounding: every interval operation is widened outward by 2^-50 "
    "relative (8 ulps; covers correctly rounded float64 arithmetic and NumPy's exp/log/pow/tanh to within "
    "a few ulps), matrix products by gamma_n |W||x|; the float64 evaluation of the network (features to "
    "16 ulps, each layer by gamma_n |W||h|, through the activations' Lipschitz bounds) and of its head's "
    "exponential is added to the bound"
)


def _num(v) -> float:
    return math.inf if v is None else float(v)  # null in JSON: an infinite bound


def fmt_bound(v) -> str:
    return "inf" if v is None or not math.isfinite(v) else f"{v:.4g}"


@dataclass(frozen=True)
class Proof:
    """A proven upper bound on the max error of a surrogate over its whole domain."""

    bound: float  # proven: no point of the domain has a larger error
    lower: float  # the largest error found at a point (so the true max lies in [lower, bound])
    within: float  # the target: bound <= max(within * lower, floor)
    status: str  # "proven" (within the target), "time_limit" / "box_limit" (the best bound so far) or
    # "unresolved" (a box too thin to split further is above the target: `limit` says where)
    boxes: int  # boxes bounded
    seconds: float
    atol: float
    error: str = DEFINITION
    rounding: str = ROUNDING
    worst_box: dict[str, list[float]] = field(default_factory=dict)  # the box holding the bound, per input
    limit: str = ""  # what kept the bound from the target, when it was not reached
    floor: float = 0.0  # bounds at or below it count as reached (float64's own noise; see prove)
    pieces: list[dict[str, Any]] = field(default_factory=list)  # a piecewise surrogate: the proof of each piece

    @property
    def proven(self) -> bool:
        return self.status == "proven"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Proof:
        return cls(**d)

    def _ratio(self) -> float:
        b, lo = _num(self.bound), _num(self.lower)
        return b / lo if lo > 0 else math.inf

    def _state(self) -> str:
        if self.status == "unresolved":
            return f"NOT within {self.within:g}x: a singularity of the enclosures (see limit)"
        if not self.proven:
            return f"NOT within {self.within:g}x: {self.status.replace('_', ' ')} reached, best bound so far"
        if self.bound > self.within * self.lower:
            return f"at most {self.floor:g}, float64's own noise (docs/prove.md), though not within {self.within:g}x"
        return f"within {self.within:g}x of the largest error found"

    def summary(self) -> str:
        """One line: the bound, what it is measured against, and how it was reached."""
        state = ("proven" if self.bound <= self.within * self.lower else f"proven, at most the floor {self.floor:g}") \
            if self.proven else "a singularity of the enclosures" if self.status == "unresolved" else \
            f"{self.status.replace('_', ' ')} reached, best bound so far"
        effort = f"{self.boxes:,} boxes, {self.seconds:.1f} s"
        if not math.isfinite(_num(self.bound)):
            return (f"no finite bound on the max error ({state}; the largest error found is {fmt_bound(self.lower)}; "
                    f"{effort})")
        return (f"max error <= {fmt_bound(self.bound)} over every point of the domain ({state}; {self._ratio():.3g}x the "
                f"largest error found, {fmt_bound(self.lower)}; {effort})")

    def __repr__(self) -> str:
        """Short: the bound, the largest error found, the status and the effort (the rounding
        statement and the worst box are in `str` and `to_dict`)."""
        return (f"Proof(bound {fmt_bound(self.bound)}, found {fmt_bound(self.lower)}, {self.status}; "
                f"{self.boxes:,} boxes, {self.seconds:.1f} s)")

    def _markdown_rows(self) -> list[list[str]]:
        rows = [["proven max error", f"≤ {fmt_bound(self.bound)} (every point of the domain)"],
                ["largest error found", fmt_bound(self.lower)],
                ["status", f"{self.status.replace('_', ' ')}: {self._state()}"],
                ["effort", f"{self.boxes:,} boxes, {self.seconds:.1f} s"]]
        if self.worst_box:
            rows.append(["worst box", ", ".join(f"{inline(symbol_latex(k))} in [{number(v[0])}, {number(v[1])}]"
                                                for k, v in self.worst_box.items())])
        if self.limit:
            rows.append(["limit", self.limit])
        return rows

    def _repr_markdown_(self) -> str:
        """Jupyter: the proven bound, the largest error found and the status, as a table (and one
        row per piece of a piecewise surrogate)."""
        parts = ["**Proof**", markdown_table(["", ""], self._markdown_rows())]
        if self.pieces:
            parts.append(markdown_table(
                ["piece", "condition", "proven max", "found", "status"],
                [[p["piece"], p["condition"], fmt_bound(p["bound"]), fmt_bound(p["lower"]),
                  p["status"].replace("_", " ")] for p in self.pieces]))
        return "\n\n".join(parts)

    def __str__(self) -> str:
        state = self._state()
        lines = [
            (f"  proven max <= {fmt_bound(self.bound)}   (rigorous, every point of the domain; {state}: "
            f"{self._ratio():.3g}x)"),
            f"  found max  {fmt_bound(self.lower)}   (largest error at a point: box centres, Sobol sample, worst point)",
            (f"  proof      branch and bound over {self.boxes:,} boxes in {self.seconds:.1f} s; rounding: stated "
            "margin (docs/prove.md)"),
        ]
        for p in self.pieces:
            lines.append(f"  piece {p['piece']} ({p['condition']}): proven max <= {fmt_bound(p['bound'])}, found "
                         f"{fmt_bound(p['lower'])} ({p['status'].replace('_', ' ')}, {p['boxes']:,} boxes)")
        if self.limit:
            lines.append(f"  limit      {self.limit}")
        return "\n".join(lines)



@dataclass(frozen=True)
class Certificate:
    """How accurate a surrogate is over its domain, and how that was established."""

    relation: str
    outputs: list[str]
    max_error: float
    p99_error: float
    mean_error: float
    worst: dict[str, float]  # the inputs at the worst point, then the outputs (predicted and reference)
    dense_max_error: float  # before the search
    per_output: dict[str, dict[str, float]]
    points: int
    atol: float
    seed: int
    search: dict[str, Any] = field(default_factory=dict)
    undefined_points: int = 0  # points where the reference itself is NaN or inf (excluded)
    seconds: float = 0.0
    error: str = DEFINITION
    residual: dict[str, float] | None = None  # implicit: normalised residual at y_hat (max, p99, mean)
    unsolved: dict[str, Any] = field(default_factory=dict)  # implicit: points the solver could not settle
    # explicit: points whose float64 reference lost its digits (0/0 at a removable
    # singularity, cancellation next to it) and was redone in extended precision (reference.py)
    refined_points: int = 0
    note: str = ""  # why a figure is what it is (an infinite max where a scale vanishes without atol)
    # a piecewise model (piecewise.py): per piece its condition, max, p99, mean, dense max, points, worst
    pieces: list[dict[str, Any]] = field(default_factory=list)
    # a proven upper bound over the whole domain (prove.Proof.to_dict()), where one was proven
    proof: dict[str, Any] | None = None

    def to_frame(self):
        """One row per output (and 'all'): max, p99 and mean error."""
        import pandas as pd

        rows = dict(self.per_output)
        rows["all"] = {"max": self.max_error, "p99": self.p99_error, "mean": self.mean_error}
        return pd.DataFrame.from_dict(rows, orient="index")[["max", "p99", "mean"]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Certificate:
        return cls(**d)

    def passes(self, tolerance: float) -> bool:
        return self.max_error <= tolerance

    def __repr__(self) -> str:
        """Short (under 300 characters): the relation, the max, p99 and mean error and the sample;
        `str` has the rest."""
        outs = ", ".join(self.outputs)
        outs = outs if len(outs) <= 60 else outs[:57] + "..."
        name = self.relation if len(self.relation) <= 60 else self.relation[:57] + "..."
        proof = ""
        if self.proof:
            proof = f"; proven <= {fmt_bound(self.proof.get('bound'))} ({self.proof.get('status')})"[:60]
        return (f"Certificate({name} ({outs}): max {self.max_error:.3g}, p99 {self.p99_error:.3g}, "
                f"mean {self.mean_error:.3g}; {self.points:,} points{proof})")

    def worst_point(self) -> tuple[dict[str, float], dict[str, tuple[float, float | None]]]:
        """The worst point's inputs, and each output's (prediction, reference) there."""
        outs = {o: (self.worst[o], self.worst.get(f"{o}_reference")) for o in self.outputs if o in self.worst}
        refs = {f"{o}_reference" for o in self.outputs}
        return {k: v for k, v in self.worst.items() if k not in outs and k not in refs}, outs

    def _repr_markdown_(self) -> str:
        """Jupyter: max, p99 and mean error per output, the worst point, the sample; the pieces and
        the proof when there are any."""
        rows = [[inline(symbol_latex(o)), *(f"{v[k]:.4g}" for k in ("max", "p99", "mean"))]
                for o, v in self.per_output.items()]
        rows.append(["all", f"{self.max_error:.4g}", f"{self.p99_error:.4g}", f"{self.mean_error:.4g}"])
        inputs, outs = self.worst_point()
        worst = ", ".join(f"{inline(symbol_latex(k))} = {number(v, 9)}" for k, v in inputs.items())
        at = "; ".join(f"{inline(symbol_latex(o))} = {number(p, 9)} (reference {number(r, 9)})" if r is not None else
                       f"{inline(symbol_latex(o))} = {number(p, 9)}" for o, (p, r) in outs.items())
        facts = [["error", self.error + (f", atol = {self.atol:g}" if self.atol else "")],
                 ["worst point", worst + (f": {at}" if at else "")],
                 ["sample", f"{self.points:,} scrambled Sobol points, seed {self.seed}; max there "
                            f"{self.dense_max_error:.4g}, then search"]]
        if self.residual:
            facts.append(["residual", ", ".join(f"{k} {v:.4g}" for k, v in self.residual.items())])
        if self.unsolved:
            counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.unsolved["counts"].items() if v)
            facts.append(["not settled by the solver", f"{counts} of {self.points:,} points (excluded)"])
        elif self.undefined_points:
            facts.append(["reference undefined", f"{self.undefined_points:,} points (excluded)"])
        if self.note:
            facts.append(["note", self.note])
        parts = [f"**Certificate** for {self.relation} ({', '.join(self.outputs)})",
                 markdown_table(["output", "max", "p99", "mean"], rows), markdown_table(["", ""], facts)]
        if self.pieces:
            parts.append(markdown_table(
                ["piece", "condition", "max", "p99", "mean", "points"],
                [[p["piece"], p["condition"], f"{p['max_error']:.4g}", f"{p['p99_error']:.4g}",
                  f"{p['mean_error']:.4g}", f"{p['points']:,}"] for p in self.pieces]))
        if self.proof:
            parts.append(Proof.from_dict(self.proof)._repr_markdown_())
        return "\n\n".join(parts)

    def __str__(self) -> str:
        worst = ", ".join(f"{k}={v:.9g}" for k, v in self.worst.items())
        lines = [
            f"certificate for {self.relation} ({', '.join(self.outputs)})",
            f"  error      {self.error}" + (f", atol={self.atol:g}" if self.atol else ""),
            f"  max        {self.max_error:.4g}   (dense sample {self.dense_max_error:.4g}, then search)",
            f"  p99        {self.p99_error:.4g}",
            f"  mean       {self.mean_error:.4g}",
            f"  worst at   {worst}",
            f"  sample     {self.points} scrambled Sobol points, seed {self.seed}"
            + (", half drawn log-uniformly towards edges" if self.search.get("edges") else ""),
            f"  search     {self.search.get('method', 'none')}",
        ]
        if self.residual:
            lines.append(f"  residual   |r(x, y_hat)| / S_r: max {self.residual['max']:.4g}, p99 {self.residual['p99']:.4g}, "
                         f"mean {self.residual['mean']:.4g}")
        if self.unsolved:
            counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.unsolved["counts"].items() if v)
            lines.append(f"  unsolved   {counts} of {self.points} points (excluded from the errors above); e.g.")
            for ex in self.unsolved["examples"]:
                lines.append("             " + ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                                                       for k, v in ex.items()))
        elif self.undefined_points:
            lines.append(f"  undefined  the relation is NaN/inf at {self.undefined_points} sampled points (excluded)")
        if self.refined_points:
            lines.append(f"  refined    {self.refined_points} references where float64 loses its digits (0/0, "
                         "cancellation) redone in 40-digit arithmetic")
        if self.note:
            lines.append(f"  note       {self.note}")
        for p in self.pieces:
            lines.append(f"  piece {p['piece']:<4} {p['condition']}: max {p['max_error']:.4g}, p99 {p['p99_error']:.4g}, "
                         f"mean {p['mean_error']:.4g} ({p['points']} points)")
        if self.proof:
            lines.append(str(Proof.from_dict(self.proof)))
        return "\n".join(lines)
