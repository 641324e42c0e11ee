"""Checking what users pass to a surrogate: names, lengths, NaN and the domain.

Shared by the torch model (`model.Surrogate`) and the NumPy runtime
(`runtime.Runtime`), so both refuse the same inputs with the same messages.
Importing this module does not import torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..declaration.display import inline, latex, markdown_table, number, relation_latex, symbol_latex
from ..errors import DomainError

__all__ = ["stack_inputs", "frame_inputs", "check_inside", "Predictor", "network_text", "model_markdown"]


def stack_inputs(values: Mapping[str, Any], names: list[str]) -> np.ndarray:
    """float64 [N, len(names)] from keyword arrays (NumPy, lists, scalars or tensors).

    Raises DomainError for missing or unknown names, non-numeric values and
    arrays of different lengths.
    """
    missing = [n for n in names if n not in values]
    extra = [n for n in values if n not in names]
    if missing or extra:
        raise DomainError(
            f"inputs are {', '.join(names)}; "
            + (f"missing {', '.join(missing)}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unknown {', '.join(extra)}" if extra else "")
        )
    cols = []
    for n in names:
        v = values[n]
        if type(v).__module__.startswith("torch"):  # a tensor, without importing torch here
            v = v.detach().cpu().numpy()
        try:
            cols.append(np.asarray(v, dtype=np.float64).reshape(-1))
        except (TypeError, ValueError) as e:
            raise DomainError(f"input {n} is not numeric: {e}") from None
    sizes = {c.size for c in cols}
    if len(sizes) > 1:
        sizes = ", ".join(f"{n}: {c.size}" for n, c in zip(names, cols))
        raise DomainError(f"inputs have different lengths ({sizes}); give arrays of one length")
    return np.stack(cols, 1)


def frame_inputs(data, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """(float64 [N, len(names)], row labels) from a DataFrame whose columns include `names`.

    Extra columns are ignored.  Raises TypeError for something that is not a
    DataFrame and DomainError naming the missing columns.
    """
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"predict takes a pandas DataFrame, not {type(data).__name__}; "
                        "call the model with keyword arrays instead")
    missing = [n for n in names if n not in data.columns]
    if missing:
        raise DomainError(
            f"columns {', '.join(missing)} are missing; the model needs {', '.join(names)} "
            f"and got {', '.join(map(str, data.columns))}"
        )
    x = stack_inputs({n: data[n] for n in names}, names)
    return x, [str(i) for i in data.index]


def check_inside(relation, x: np.ndarray, outside: str, labels: list[str]) -> None:
    """Raise DomainError naming the row, the input and the bound of the first offenders.

    `outside="allow"` skips the check (extrapolation at the caller's risk).
    """
    if outside == "allow":
        return
    if outside != "raise":
        raise ValueError(f"outside must be 'raise' or 'allow', not {outside!r}")
    bad_nan = np.argwhere(np.isnan(x))
    if bad_nan.size:
        i, k = bad_nan[0]
        raise DomainError(
            f"input {relation.inputs[k]} is NaN at row {labels[i] if i < len(labels) else i} "
            f"({len(bad_nan)} NaN in all); drop or fill them"
        )
    inside = relation.domain.contains(x)
    if not np.all(inside):
        rows = np.nonzero(~inside)[0]
        v = relation.domain.violations(x[rows[:5]])
        parts = [
            f"row {labels[rows[r]] if rows[r] < len(labels) else rows[r]}: {n} = {val:.6g} not in [{lo:.6g}, {hi:.6g}]"
            for r, n, val, lo, hi in v
        ]
        raise DomainError(
            f"{rows.size} point(s) outside the domain the surrogate was trained and verified on: "
            + "; ".join(parts)
            + "; pass outside='allow' to extrapolate anyway"
        )


def network_text(cfg: Mapping[str, Any], dtype: str) -> str:
    """``MLP, 3 hidden layers of 64 (silu, skip connections), float32``."""
    skip = ", skip connections" if cfg.get("skip") else ""
    return f"MLP, {cfg['depth']} hidden layers of {cfg['width']} ({cfg['activation']}{skip}), {dtype}"


def _bound_markdown(b) -> str:
    return inline(latex(b)) if getattr(b, "free_symbols", None) else number(float(b))


def model_markdown(model) -> str:
    """The Markdown a model shows in Jupyter: what it is, the relation typeset, its inputs and
    their ranges, its network(s) and its certificate's max error."""
    rel, cert = model.relation, model.certificate
    kind = type(model).__name__
    arrow = f"{', '.join(inline(symbol_latex(n)) for n in rel.inputs)} → " \
            f"{', '.join(inline(symbol_latex(n)) for n in rel.outputs)}"
    parts = [f"**{kind}** of {rel.name or 'a relation'}: {arrow}", f"$${relation_latex(rel)}$$"]
    parts.append(markdown_table(
        ["input", "low", "high", "scale"],
        [[inline(symbol_latex(s.name)), _bound_markdown(s.low), _bound_markdown(s.high), s.scale]
         for s in rel.domain.inputs]))
    if cert is None:
        cert_text = "none (`sg.verify(model)` makes one)"
    else:
        cert_text = (f"max error {cert.max_error:.3g} (p99 {cert.p99_error:.3g}, mean {cert.mean_error:.3g}; "
                     f"{cert.points:,} points)")
        if cert.proof:
            cert_text += f"; proven ≤ {number(cert.proof['bound'], 4)} ({cert.proof['status'].replace('_', ' ')})"
    parts.append(markdown_table(["", ""], [["network", model._network_text()], ["certificate", cert_text]]))
    pieces = getattr(model, "pieces", None)
    if pieces:
        per = {p["piece"]: p for p in (cert.pieces if cert is not None else [])}
        parts.append(markdown_table(
            ["piece", "condition", "model", "max error"],
            [[p.number, p.condition, what, f"{per[p.number]['max_error']:.3g}" if p.number in per else ""]
             for p, what in zip(pieces, model._piece_texts())]))
    return "\n\n".join(parts)


class Predictor:
    """Keyword and DataFrame prediction on top of `evaluate(x) -> [N, m]`.

    The torch model and the NumPy runtime both mix this in, so they take the
    same inputs and refuse the same ones with the same messages, and show
    themselves alike in Jupyter (`model_markdown`).  Subclasses provide
    `relation`, `certificate`, `evaluate` and `_network_text` (a piecewise model
    also `pieces` and `_piece_texts`).
    """

    def _network_text(self) -> str:
        raise NotImplementedError

    def _repr_markdown_(self) -> str:
        """Jupyter: the relation typeset, the inputs and their ranges, the network, the
        certificate's max error (and, piecewise, each piece)."""
        return model_markdown(self)

    @property
    def inputs(self) -> list[str]:
        return list(self.relation.inputs)

    @property
    def outputs(self) -> list[str]:
        return list(self.relation.outputs)

    def __call__(self, *, outside: str = "raise", **values) -> dict[str, np.ndarray]:
        x = stack_inputs(values, self.inputs)
        check_inside(self.relation, x, outside, [])
        y = self.evaluate(x)
        return {o: y[:, j] for j, o in enumerate(self.outputs)}

    def predict(self, data, *, outside: str = "raise"):
        """DataFrame in, DataFrame out (one column per output, same index).

        Columns are matched to the inputs by name; extra columns are ignored.
        Inputs outside the domain or NaN raise DomainError naming the row, the
        column and the bound, unless ``outside="allow"``.
        """
        import pandas as pd

        x, labels = frame_inputs(data, self.inputs)
        check_inside(self.relation, x, outside, labels)
        return pd.DataFrame(self.evaluate(x), columns=self.outputs, index=data.index)
