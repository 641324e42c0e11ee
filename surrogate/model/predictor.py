"""Checking what users pass to a surrogate: names, shapes, NaN and the domain.

Shared by the torch model (`model.Surrogate`), the NumPy runtime
(`runtime.Runtime`) and the piecewise models, so they all take the same calls
and refuse the same inputs with the same messages.
Importing this module does not import torch.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..declaration.display import inline, latex, markdown_table, number, relation_latex, symbol_latex, unit_text
from ..declaration.units import magnitudes, quantities
from ..errors import DomainError

__all__ = ["OUTSIDE", "PYTHON_FLAGS", "broadcast_inputs", "stack_inputs", "frame_inputs", "non_numeric", "check_inside",
           "units_frame",
           "Predictor", "network_text", "model_markdown"]

#: What a prediction does at a point outside the domain (or with a NaN input): refuse it with
#: DomainError, extrapolate (the network at that very point), or give NaN there.
OUTSIDE = ("raise", "allow", "nan")

#: How the Python API names its options in messages; the command line passes its own flags.
PYTHON_FLAGS = {"allow": "outside='allow'", "nan": "outside='nan'"}


def _column(v, name: str) -> np.ndarray:
    if type(v).__module__.startswith("torch"):  # a tensor, without importing torch here
        v = v.detach().cpu().numpy()
    try:
        return np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise DomainError(f"input {name} is not numeric ({type(v).__name__} {_short(v)}): {e}; "
                          "give numbers, or arrays of numbers") from None


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def broadcast_inputs(values: Mapping[str, Any], names: list[str]) -> tuple[np.ndarray, tuple[int, ...]]:
    """(float64 [N, len(names)], shape) from keyword values broadcast against each other.

    Scalars, lists, NumPy arrays, pandas Series and tensors are taken; they are
    broadcast as NumPy broadcasts (``Re=np.logspace(4, 6, 50), Pr=0.7`` gives 50
    points; a meshgrid's 2-D arrays give a 2-D grid), and `shape` is the broadcast
    shape (``()`` when every value is a scalar), N its number of points.  Raises
    DomainError for missing or unknown names, non-numeric values and shapes that
    do not broadcast.
    """
    missing = [n for n in names if n not in values]
    extra = [n for n in values if n not in names]
    if missing or extra:
        raise DomainError(
            f"inputs are {', '.join(names)}; "
            + (f"missing {', '.join(missing)}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unknown {', '.join(map(str, extra))}" if extra else "")
        )
    cols = [_column(values[n], n) for n in names]
    try:
        shape = np.broadcast_shapes(*(c.shape for c in cols))
    except ValueError:
        sizes = ", ".join(f"{n}: {c.size if c.ndim == 1 else c.shape}" for n, c in zip(names, cols))
        raise DomainError(f"inputs have different lengths ({sizes}) that do not broadcast; give arrays of one "
                          "length, or numbers for the inputs that stay fixed") from None
    return np.stack([np.broadcast_to(c, shape).reshape(-1) for c in cols], 1), shape


def stack_inputs(values: Mapping[str, Any], names: list[str]) -> np.ndarray:
    """float64 [N, len(names)] from keyword values (see `broadcast_inputs`)."""
    return broadcast_inputs(values, names)[0]


def frame_inputs(data, names: list[str], labels: list[str] | None = None, *,
                 coerce: bool = False) -> tuple[np.ndarray, list[str]]:
    """(float64 [N, len(names)], row labels) from a DataFrame whose columns include `names`.

    Extra columns are ignored.  `labels` says where each row is in messages
    (default ``row <index>``).  Raises TypeError for something that is not a
    DataFrame and DomainError naming the missing columns, or the first cell
    that is not a number (its row, its column and its value); `coerce` makes
    such cells NaN instead.
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
    twice = [n for n in names if list(data.columns).count(n) > 1]
    if twice:
        raise DomainError(f"columns {', '.join(twice)} appear more than once; keep one of each")
    labels = labels if labels is not None else [f"row {i}" for i in data.index]
    bad = [] if coerce else non_numeric(data, names)
    if bad:
        i, n = bad[0]
        raise DomainError(f"{labels[i]}, column {n}: {data[n].iloc[i]!r} is not a number "
                          f"({len(bad)} such cell(s) in all); fix the data or convert with pd.to_numeric")
    x = stack_inputs({n: pd.to_numeric(data[n], errors="coerce").to_numpy(dtype=np.float64) for n in names}, names)
    return x, labels


def units_frame(df, units: Mapping[str, str]):
    """`df` with ``df.attrs["units"]``: ``{column: unit string}`` of its columns that have a declared unit."""
    df.attrs["units"] = {c: units[c] for c in df.columns if c in units}
    return df


def non_numeric(data, names: list[str]) -> list[tuple[int, str]]:
    """(row position, column) of every cell of `names` that is neither a number nor empty."""
    import pandas as pd

    out = []
    for n in names:
        col = data[n]
        if pd.api.types.is_numeric_dtype(col):
            continue
        as_numbers = pd.to_numeric(col, errors="coerce")
        out += [(int(i), n) for i in np.nonzero(as_numbers.isna().to_numpy() & col.notna().to_numpy())[0]]
    return sorted(out)


def check_inside(relation, x: np.ndarray, outside: str, labels: list[str] | Callable[[int], str],
                 flags: Mapping[str, str] = PYTHON_FLAGS) -> np.ndarray | None:
    """Check the rows of x against the domain as `outside` says.

    ``"raise"``: DomainError naming the row, the input and the bound of the first
    offenders (``labels[i]``, or ``labels(i)``, says where row i is; ``row i`` by default), and the
    options in `flags` (how the caller spells 'allow' and 'nan').  ``"allow"``:
    nothing (extrapolation at the caller's risk).  ``"nan"``: returns the mask of
    the rows that are outside or NaN (the caller writes NaN there); None otherwise.
    """
    if outside not in OUTSIDE:
        raise ValueError(f"outside must be 'raise', 'allow' or 'nan', not {outside!r}")
    if outside == "allow":
        return None
    inside = relation.domain.contains(x)
    if outside == "nan":
        return ~inside

    def where(i):
        if callable(labels):
            return labels(i)
        return labels[i] if i < len(labels) else f"row {i}"

    bad_nan = np.argwhere(np.isnan(x))
    if bad_nan.size:
        i, k = bad_nan[0]
        raise DomainError(
            f"input {relation.inputs[k]} is NaN at {where(i)} ({len(bad_nan)} NaN in all); drop or fill them, "
            f"or pass {flags['nan']} for NaN there"
        )
    if not np.all(inside):
        rows = np.nonzero(~inside)[0]
        v = relation.domain.violations(x[rows[:5]])
        parts = [f"{where(rows[r])}: {n} = {val:.6g} not in [{lo:.6g}, {hi:.6g}]" for r, n, val, lo, hi in v]
        raise DomainError(
            f"{rows.size} point(s) outside the domain the surrogate was trained and verified on: "
            + "; ".join(parts)
            + f"; pass {flags['allow']} to extrapolate anyway, or {flags['nan']} for NaN there"
        )
    return None


class _CallSignature:
    """``model.__signature__``: ``(Re, Pr, *, outside='raise')`` from the model's own inputs,
    so that ``inspect.signature(model)``, IPython's ``model?`` and Jupyter's tooltip show the
    call with its names.  None on the class, and where a name cannot be a Python parameter
    (``r_o/r_i``): the generic signature of ``__call__`` is shown then."""

    def __get__(self, obj, cls=None):
        if obj is None:
            return None
        names = obj.inputs
        if not all(n.isidentifier() and not keyword.iskeyword(n) for n in names) or "outside" in names:
            return None
        params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
        params.append(inspect.Parameter("outside", inspect.Parameter.KEYWORD_ONLY, default="raise"))
        return inspect.Signature(params, return_annotation=dict)


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
    units = rel.units
    parts.append(markdown_table(
        ["input", "low", "high", "scale", *(["unit"] if units else [])],
        [[inline(symbol_latex(s.name)), _bound_markdown(s.low), _bound_markdown(s.high), s.scale,
          *([unit_text(units.get(s.name))] if units else [])]
         for s in rel.domain.inputs]))
    if any(o in units for o in rel.outputs):
        parts.append(markdown_table(["output", "unit"], [[inline(symbol_latex(o)), unit_text(units.get(o))]
                                                         for o in rel.outputs]))
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
    """Keyword, positional and DataFrame prediction on top of `evaluate(x) -> [N, m]`.

    The torch model, the NumPy runtime and the piecewise models all mix this in, so
    they take the same calls and refuse the same inputs with the same messages, and
    show themselves alike in Jupyter (`model_markdown`).  Subclasses provide
    `relation`, `certificate`, `evaluate` and `_network_text` (a piecewise model
    also `pieces` and `_piece_texts`).
    """

    __signature__ = _CallSignature()

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

    @property
    def units(self) -> dict[str, str]:
        """{name: unit string} of the relation's symbols declared with a unit (`Relation.units`)."""
        return self.relation.units

    def __call__(self, *args, outside: str = "raise", **values) -> dict[str, Any]:
        """Predict every output: ``model(Re=..., Pr=...)`` or ``model(1e5, 0.7)`` (the inputs in
        the order of ``model.inputs``) -> ``{output: values}``.

        Values broadcast as in NumPy: ``model(Re=np.logspace(4, 6, 50), Pr=0.7)`` gives arrays of 50,
        a meshgrid's 2-D arrays give 2-D arrays (ready for ``plt.plot`` and ``plt.contourf``), and a
        call with numbers only gives a dict of floats.  ``inspect.signature(model)`` shows the call
        with the model's own input names.

        outside
            ``"raise"`` (DomainError naming the point, the input and its bound) at a point outside
            the domain or with a NaN input; ``"allow"`` to extrapolate (the network at that very
            point, at your own risk); ``"nan"`` for NaN at those points and predictions elsewhere.

        An input may be a pint Quantity (``D=Q_(2, "cm")``) where the relation declares a unit for
        it (``units=``): it is converted to that unit before the domain check (UnitError naming
        the input, the unit given and the unit declared where the dimensions differ, or where no
        unit is declared).  Plain numbers are read in the declared unit.  When any input was a
        Quantity, each output with a declared unit comes back as a Quantity in that unit.
        """
        if args:
            values = self._positional(args, values)
        values, registry = magnitudes(values, self.relation.units, self.inputs)
        x, shape = broadcast_inputs(values, self.inputs)
        if len(shape) <= 1:
            labels = ["the point"] if shape == () else []
        else:
            labels = lambda i: f"index {tuple(int(k) for k in np.unravel_index(i, shape))}"  # noqa: E731
        y = self._evaluate_checked(x, outside, labels)
        if shape == ():
            out = {o: float(y[0, j]) for j, o in enumerate(self.outputs)}
        else:
            out = {o: y[:, j].reshape(shape) for j, o in enumerate(self.outputs)}
        return out if registry is None else quantities(out, self.relation.units, registry)

    def predict(self, data, *, outside: str = "raise"):
        """DataFrame in, DataFrame out (one column per output, same index).

        Columns are matched to the inputs by name (their numbers read in the inputs' declared
        units); extra columns are ignored.  Inputs outside the domain or NaN raise DomainError
        naming the row, the column and the bound, unless ``outside="allow"`` (extrapolate) or
        ``outside="nan"`` (NaN in those rows).  The columns keep the outputs' plain names;
        ``df.attrs["units"]`` holds ``{output: unit string}`` for those with a declared unit.
        """
        import pandas as pd

        x, labels = frame_inputs(data, self.inputs)
        y = self._evaluate_checked(x, outside, labels)
        return units_frame(pd.DataFrame(y, columns=self.outputs, index=data.index), self.relation.units)

    def _evaluate_checked(self, x: np.ndarray, outside: str, labels,
                          flags: Mapping[str, str] = PYTHON_FLAGS) -> np.ndarray:
        """evaluate(x) after the domain check; NaN in the rows `outside="nan"` leaves out."""
        blank = check_inside(self.relation, x, outside, labels, flags)
        if blank is None or not blank.any():
            return self.evaluate(x)
        y = np.full((x.shape[0], len(self.outputs)), np.nan)
        y[~blank] = self.evaluate(x[~blank])
        return y

    def _call_text(self) -> str:
        return f"model({', '.join(f'{n}=...' for n in self.inputs)})"

    def _positional(self, args: tuple, values: dict) -> dict:
        """The keyword values of a call with positional ones, in the order of the inputs."""
        names = self.inputs
        if len(args) == 1 and (isinstance(args[0], Mapping) or hasattr(args[0], "columns")):
            what = type(args[0]).__name__
            if hasattr(args[0], "columns"):
                raise TypeError(f"the model was called with a {what}; for a DataFrame call model.predict(df), "
                                f"for arrays {self._call_text()}")
            raise TypeError(f"the model was called with a {what} of inputs, {_short(args[0])}; pass them as "
                            f"keywords: model(**values), i.e. {self._call_text()}")
        if len(args) > len(names):
            raise TypeError(f"the model takes {len(names)} input(s) ({', '.join(names)}, in that order) and was "
                            f"given {len(args)} positionally, {_short(args)}; call {self._call_text()}")
        twice = [n for n in names[: len(args)] if n in values]
        if twice:
            raise TypeError(f"input(s) {', '.join(twice)} given both positionally and by keyword; "
                            f"call {self._call_text()}")
        values = {**dict(zip(names, args)), **values}
        missing = [n for n in names if n not in values]
        if missing:
            raise TypeError(f"the model takes {len(names)} input(s) ({', '.join(names)}, in that order) and was "
                            f"given {len(args)} positionally, {_short(args)}, missing {', '.join(missing)}; "
                            f"call {self._call_text()}")
        return values
