"""Evaluate a saved surrogate with NumPy alone: no torch, no code from the file.

    from surrogate import runtime
    model = runtime.load("seed001.surrogate")
    df_out = model.predict(df_in)            # same columns and checks as Surrogate.predict
    y = model(x1=..., x2=...)["y"]

The file is read through `surrogate.format` (the one parser of the format, shared
with `surrogate.load`), the features and heads are `surrogate.scaling`'s own
functions on NumPy arrays (in float64), and the network runs in its stored
precision (float32 for a default model), so the numbers match torch's to float32
rounding of the network's outputs.
Importing this module does not import torch.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from . import format as fmt
from .c_export import F32_ROUNDING, export_model
from .predictor import Predictor, network_text
from .records import Certificate
from .scaling import features, heads

__all__ = ["PiecewiseRuntime", "Runtime", "load"]

#: Rows per block of the forward pass: big enough to amortise NumPy's per-call cost, small
#: enough that a block's activations (rows x width) stay in the CPU's cache.
BLOCK_ROWS = 8192


def load(path, *, precision: str = "float64") -> Runtime | PiecewiseRuntime:
    """Read a surrogate artifact for NumPy-only prediction.

    precision="float64" (the default) evaluates the stored weights in float64, as
    the torch model's `evaluate` and the ONNX export do, so all three agree to
    ~1e-12; "float32" runs the network in float32 (its weights rounded once, as the
    shipped ones are trained in float64; features and heads stay float64), 2.0-2.6x
    faster on the shipped 2x24 networks (bench/speed.py), adding float32's rounding:
    up to 4.1e-6 of the output on the shipped catalogue, under c_export.F32_ROUNDING
    (tests/test_runtime.py).  A surrogate certified tighter than F32_ROUNDING gets a
    UserWarning: its certificate holds for float64 only.  Runs nothing from the file:
    raises ArtifactError naming the problem for a corrupt, hostile or unknown file,
    exactly as `surrogate.load` does.
    """
    if precision not in ("float32", "float64"):
        raise ValueError(f"precision must be 'float32' or 'float64', not {precision!r}")
    manifest, tensors = fmt.read(path)

    def dtype(cfg):
        return {**cfg, "dtype": precision}

    if "pieces" in manifest:  # one network per piece (piecewise.py)
        relation, parts = fmt.piece_parts(manifest, tensors)
        from .piecewise import ConstantPiece

        runs = [ConstantPiece(p.constant, relation.outputs) if part is None else
                Runtime(p.relation, part[0], part[1], dtype(part[2]), part[3])
                for p, part in zip(relation.pieces, parts)]
        return _checked(PiecewiseRuntime(relation, runs, certificate=fmt.certificate(manifest)), precision)
    relation, feats, head_specs, cfg = fmt.model_parts(manifest, tensors)
    return _checked(Runtime(relation, feats, head_specs, dtype(cfg), tensors, certificate=fmt.certificate(manifest)),
                    precision)


def _checked(model, precision: str):
    """The model, with a warning where float32's rounding exceeds what its certificate claims."""
    cert = model.certificate
    if precision == "float32" and cert is not None and cert.max_error < F32_ROUNDING:
        warnings.warn(f"{model.relation.name or 'this surrogate'}: precision='float32' adds float32's rounding (up to "
                      f"{F32_ROUNDING:g} of the output), more than its certified max error {cert.max_error:.3g}; the "
                      "certificate holds for precision='float64'", UserWarning, stacklevel=3)
    return model


class Runtime(Predictor):
    """A surrogate's forward pass in NumPy: physical inputs -> outputs.

    Call it with keyword arrays or numbers, which broadcast (``model(x1=..., x2=...)``
    -> dict of float64 arrays, or of floats for numbers; positional in the order of
    ``inputs`` too), or give it a DataFrame (``model.predict(df)``).  Inputs outside
    the domain or NaN raise DomainError unless ``outside="allow"`` or
    ``outside="nan"``, as with the torch model.
    """

    def __init__(self, relation, feature_specs: list[dict], head_specs: list[dict], network: dict[str, Any],
                 weights: dict[str, np.ndarray], *, certificate: Certificate | None = None):
        self.relation = relation
        self.feature_specs = feature_specs
        self.head_specs = head_specs
        self.network = dict(network)
        #: The weights as the file stores them (in the precision the network was trained in): the C export's.
        self.weights = weights
        dtype = np.dtype(network.get("dtype", "float32"))
        self._plan(weights, network, dtype)
        self.dtype = dtype
        #: The certificate recorded at save time (None if there is none): the same `Certificate`
        #: the torch model carries.
        self.certificate = certificate

    # -- description ------------------------------------------------------------------
    def __repr__(self) -> str:
        n = self.network
        c = self.certificate
        cert = f", max error {c.max_error:.3g}" if c is not None else ""
        return (f"Runtime({self.relation.name or 'relation'}: {', '.join(self.inputs)} -> {', '.join(self.outputs)}; "
                f"MLP {n['depth']}x{n['width']} {n['activation']}, NumPy {self.dtype}{cert})")

    def _network_text(self) -> str:
        return network_text(self.network, f"NumPy {self.dtype}")

    # -- evaluation ---------------------------------------------------------------------
    def evaluate(self, x: np.ndarray, *, block_rows: int = BLOCK_ROWS) -> np.ndarray:
        """float64 [N, len(inputs)] -> float64 [N, len(outputs)] (no domain check).

        Features and heads are computed in float64 (a gap like x1 - x2 keeps its
        digits), the network in its stored precision, as `Surrogate.evaluate` does.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.inputs):
            raise ValueError(f"x must have shape [N, {len(self.inputs)}] (columns {', '.join(self.inputs)}), "
                             f"not {list(x.shape)}")
        n = x.shape[0]
        out = np.empty((n, len(self.outputs)), dtype=np.float64)
        bufs = self._buffers(min(n, block_rows))
        # Silent IEEE arithmetic, as in torch: outside the domain a log feature may see x <= 0 and a
        # head's exp may overflow (inf - inf = NaN in a signed-log head); the caller gets inf or NaN.
        with np.errstate(all="ignore"):
            for i in range(0, n, block_rows):
                out[i : i + block_rows] = self._block(x[i : i + block_rows], bufs)
        return out

    def export_c(self, path, *, precision: str = "float64", name: str | None = None) -> str:
        """One dependency-free C99 file of this surrogate (c_export.py; see `Surrogate.export_c`)."""
        return export_model(self, path, precision=precision, name=name)

    # -- the forward pass ------------------------------------------------------------------
    # Each block of rows runs in preallocated buffers, nothing allocated per layer: two buffers
    # [rows, width + features + 1] hold a layer's output, the block's features and a column of
    # ones, so each layer (its bias and, for the last, the linear skip path too) is one matmul of
    # a buffer into a [rows, width] scratch array whose activation is written into the other buffer.
    def _plan(self, weights: dict[str, np.ndarray], network: dict[str, Any], dtype: np.dtype) -> None:
        """The layers as matrices for that layout, cast once to the precision evaluated in."""
        nf, width, n_out = network["n_in"], network["width"], network["n_out"]
        tanh = network["activation"] == "tanh"
        # tanh h = 1 - 2 / (exp(2 h) + 1): a tanh layer's matrix is doubled (exact in binary)
        twice = 2.0 if tanh else 1.0
        self._layers = []
        for i in range(network["depth"]):
            w, b = weights[f"hidden.{2 * i}.weight"].astype(np.float64), weights[f"hidden.{2 * i}.bias"].astype(np.float64)
            rows = [w.T, b[None, :]] if i == 0 else [w.T, np.zeros((nf, width)), b[None, :]]
            self._layers.append(np.ascontiguousarray(twice * np.concatenate(rows), dtype=dtype))
        skip = weights["skip.weight"].T if network.get("skip", False) else np.zeros((nf, n_out))
        last = [weights["last.weight"].T, skip, weights["last.bias"][None, :]]
        self._last = np.ascontiguousarray(np.concatenate([np.asarray(a, np.float64) for a in last]), dtype=dtype)
        self._act = _tanh_doubled if tanh else _in_place(_ACTIVATIONS[network["activation"]])
        self._width, self._nf = width, nf

    def _buffers(self, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Two layer buffers (their last column ones) and the scratch array, for blocks of `rows`."""
        a = np.empty((rows, self._width + self._nf + 1), dtype=self.dtype)
        a[:, -1] = 1.0
        return a, a.copy(), np.empty((rows, self._width), dtype=self.dtype)

    def _block(self, x: np.ndarray, bufs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        m, w = x.shape[0], self._width
        a, b, t = (buf[:m] for buf in bufs)
        f = features(x, self.feature_specs, self.relation)
        a[:, w:-1] = f  # cast to the network's precision on the copy
        b[:, w:-1] = a[:, w:-1]
        src, dst = a[:, w:], b  # the first layer reads [features, 1]
        for layer in self._layers:
            np.matmul(src, layer, out=t)
            self._act(t, dst[:, :w])
            src, dst = dst, (a if dst is b else b)
        o = src @ self._last
        return heads(o.astype(np.float64, copy=False), self.head_specs)


class PiecewiseRuntime(Predictor):
    """A piecewise surrogate in NumPy: each point evaluated by the `Runtime` of the piece
    whose region holds it (piecewise.assign, the rule the torch model and ONNX use)."""

    def __init__(self, relation, runtimes: list[Runtime], *, certificate: Certificate | None = None):
        self.relation = relation
        self.pieces = relation.pieces
        self.runtimes = list(runtimes)
        self.certificate = certificate

    def __repr__(self) -> str:
        c = self.certificate
        cert = f", max error {c.max_error:.3g}" if c is not None else ""
        return (f"PiecewiseRuntime({self.relation.name or 'relation'}: {', '.join(self.inputs)} -> "
                f"{', '.join(self.outputs)}; {len(self.runtimes)} pieces{cert})")

    def _network_text(self) -> str:
        from .piecewise import pieces_text

        return pieces_text(self._piece_texts())

    def _piece_texts(self) -> list[str]:
        return [r._network_text() if isinstance(r, Runtime) else r.text() for r in self.runtimes]

    def export_c(self, path, *, precision: str = "float64", name: str | None = None) -> str:
        """One C99 file for all pieces (c_export.py; see `PiecewiseSurrogate.export_c`)."""
        return export_model(self, path, precision=precision, name=name)

    def evaluate(self, x: np.ndarray, *, block_rows: int = BLOCK_ROWS) -> np.ndarray:
        """float64 [N, len(inputs)] -> float64 [N, len(outputs)] (no domain check)."""
        from .piecewise import assign

        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.inputs):
            raise ValueError(f"x must have shape [N, {len(self.inputs)}] (columns {', '.join(self.inputs)}), "
                             f"not {list(x.shape)}")
        idx = assign(self.pieces, self.inputs, x)
        out = np.empty((x.shape[0], len(self.outputs)), dtype=np.float64)
        for k, (p, r) in enumerate(zip(self.pieces, self.runtimes)):
            rows = idx == k
            if rows.any():
                out[rows] = r.evaluate(x[rows][:, list(p.columns)])
        return out


# -- activations, in place, matching torch.nn's definitions ---------------------------------
def _silu(h: np.ndarray) -> None:
    t = np.negative(h)
    with np.errstate(over="ignore"):  # exp(-x) = inf for x << 0 gives x / inf = -0, as in torch
        np.exp(t, out=t)
    t += 1.0
    np.divide(h, t, out=h)


def _tanh(h: np.ndarray) -> None:
    np.tanh(h, out=h)


def _tanh_doubled(t: np.ndarray, out: np.ndarray) -> None:
    """out = tanh(t / 2) = 1 - 2 / (exp(t) + 1), t the doubled layer's output (overwritten).

    Four ufunc passes whose exp NumPy vectorises: on [8192, 24] blocks 2.2x faster than np.tanh in float64 (whose
    tanh is a libm call per element) and 1.5x in float32 (bench/README.md's machine); its error is absolute,
    a few ulp of 1, not relative to a tanh near 0 (np.tanh's), which is what the next layer's sum
    sees.  exp overflows to inf for t > 709 (88 in float32): 2 / inf = 0, tanh = 1; NaN stays NaN."""
    np.exp(t, out=t)
    t += 1.0
    np.divide(2.0, t, out=t)
    np.subtract(1.0, t, out=out)


def _relu(h: np.ndarray) -> None:
    np.maximum(h, 0, out=h)


def _gelu(h: np.ndarray) -> None:
    """Exact GELU, x * Phi(x) = x/2 * (1 + erf(x / sqrt 2)), evaluated in float64.

    torch's float32 kernel loses the left tail (|GELU| < 1e-6 for x < -5) to the
    rounding of 1 + erf; this one keeps it, so the two differ there by < 1e-6.
    """
    x = h.astype(np.float64)
    h[...] = 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))


_ACTIVATIONS = {"silu": _silu, "gelu": _gelu, "tanh": _tanh, "relu": _relu}


def _in_place(act):
    """An activation of `_ACTIVATIONS` as the forward pass calls it: act(t, out)."""

    def run(t: np.ndarray, out: np.ndarray) -> None:
        act(t)
        out[...] = t

    return run


def erf(x: np.ndarray) -> np.ndarray:
    """The error function of a float64 array, to float64 rounding.

    NumPy has no erf: SciPy's is used when SciPy is installed, else `math.erf`
    element by element (exact, but about 100x slower).
    """
    try:
        from scipy.special import erf as scipy_erf
    except ImportError:
        return _erf_python(x)
    return scipy_erf(x)


def _erf_python(x: np.ndarray) -> np.ndarray:
    return _ERF(x).astype(np.float64)


_ERF = np.frompyfunc(math.erf, 1, 1)
