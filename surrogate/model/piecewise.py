"""The model of a piecewise relation: one network per piece, each point evaluated by
the network of the piece whose region holds it (the plan: `surrogate.declaration.pieces`).

Importing this module does not import torch: the NumPy runtime uses `ConstantPiece`.
"""

from __future__ import annotations

import numpy as np

from ..declaration.pieces import assign
from ..errors import SurrogateError
from . import format as fmt
from .c_export import export_model
from .onnx import export_onnx
from .predictor import Predictor

__all__ = ["ConstantPiece", "PiecewiseSurrogate"]


# -- the model -----------------------------------------------------------------------------------
class ConstantPiece:
    """The model of a piece whose expression uses no input: its values, exactly (float64)."""

    def __init__(self, values, outputs):
        self.values = np.asarray(values, dtype=np.float64)
        self.outputs = list(outputs)
        self.info = {"steps": 0, "seconds": 0.0, "stop": "constant", "validation": {"max": 0.0, "mean": 0.0}}
        self._module = None

    def evaluate(self, x, **kw) -> np.ndarray:
        return np.broadcast_to(self.values, (np.asarray(x).shape[0], len(self.values))).copy()

    @property
    def module(self):
        """A torch module returning the values for every row (full inputs in)."""
        if self._module is None:
            import torch

            class _Constant(torch.nn.Module):
                def __init__(self, values):
                    super().__init__()
                    self.register_buffer("values", torch.from_numpy(values))

                def forward(self, x):
                    return torch.ones_like(x[:, :1], dtype=self.values.dtype) * self.values

            self._module = _Constant(self.values)
        return self._module

    def to(self, device=None, dtype=None):
        return self

    def text(self) -> str:
        """What the piece is, for a table: ``constant 0.3``."""
        return "constant " + ", ".join(f"{v:.6g}" for v in self.values)

    def onnx_module(self, precision: str):
        return self.module


class PiecewiseSurrogate(Predictor):
    """A surrogate of a piecewise relation: one `Surrogate` per piece, each point
    evaluated by the network of the piece that holds it.

    Takes and refuses the same inputs as `Surrogate` (keyword arrays, DataFrames,
    the domain check), saves to one file, exports to one ONNX graph.  `models[k]`
    is piece k's own Surrogate, over its sub-relation `pieces[k].relation`.
    """

    def __init__(self, relation, models, *, certificate=None, info=None):
        pieces = relation.pieces
        if not pieces or len(pieces) != len(models):
            raise SurrogateError(f"{relation.name or 'the relation'} has {len(pieces or ())} pieces; "
                                 f"{len(models)} models were given")
        self.relation = relation
        self.pieces = pieces
        self.models = list(models)
        self.certificate = certificate
        self.info = dict(info or {})

    @property
    def networks(self) -> list:
        """The pieces' Surrogates (constant pieces have none)."""
        return [m for m in self.models if not isinstance(m, ConstantPiece)]

    def __repr__(self) -> str:
        nets = self.networks
        cfg = nets[0].module.net.config if nets else None
        what = f"MLP {cfg['depth']}x{cfg['width']} {cfg['activation']} each" if cfg else "constants"
        consts = len(self.models) - len(nets)
        cert = f", max error {self.certificate.max_error:.3g}" if self.certificate is not None else ""
        return (f"PiecewiseSurrogate({self.relation.name or 'relation'}: {', '.join(self.inputs)} -> "
                f"{', '.join(self.outputs)}; {len(self.models)} pieces, {what}"
                f"{f' ({consts} constant)' if consts and cfg else ''}{cert})")

    def _network_text(self) -> str:
        return pieces_text(self._piece_texts())

    def _piece_texts(self) -> list[str]:
        return [m._network_text() if not isinstance(m, ConstantPiece) else m.text() for m in self.models]

    @property
    def device(self):
        import torch

        return self.networks[0].device if self.networks else torch.device("cpu")

    @property
    def dtype(self):
        import torch

        return self.networks[0].dtype if self.networks else torch.float64

    def to(self, device=None, dtype=None):
        for m in self.models:
            m.to(device=device, dtype=dtype)
        return self

    def piece_of(self, x: np.ndarray) -> np.ndarray:
        """The 0-based piece of each row of x (NumPy [N, len(inputs)])."""
        return assign(self.pieces, self.inputs, np.asarray(x, dtype=np.float64))

    def evaluate(self, x: np.ndarray, **kw) -> np.ndarray:
        """float64 NumPy [N, d] -> [N, m]: each row by its piece's network (no domain check)."""
        x = np.asarray(x, dtype=np.float64)
        idx = self.piece_of(x)
        out = np.empty((x.shape[0], len(self.outputs)), dtype=np.float64)
        for k, (p, m) in enumerate(zip(self.pieces, self.models)):
            rows = idx == k
            if rows.any():
                out[rows] = m.evaluate(x[rows][:, list(p.columns)], **kw)
        return out

    def forward(self, x):
        """Tensor in, tensor out, [N, len(inputs)] -> [N, len(outputs)]: every piece's network,
        then torch.where by the regions (differentiable, and exportable to ONNX)."""
        return _dispatch(self.pieces, self.inputs, [m.module for m in self.models], x)

    def onnx_module(self, precision: str):
        """A torch module of the composite whose networks run in `precision`, for export."""
        import torch

        pieces, inputs = self.pieces, self.inputs
        mods = torch.nn.ModuleList([m.onnx_module(precision) for m in self.models])

        class _Composite(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.mods = mods

            def forward(self, x):
                return _dispatch(pieces, inputs, list(self.mods), x)

        return _Composite()

    def save(self, path) -> None:
        """One safetensors file: the relation once, then per piece its features, heads and
        network (tensors prefixed ``piece<k>.``), the certificate; schema 3 (format.py)."""
        parts, tensors = [], {}
        for k, m in enumerate(self.models):
            if isinstance(m, ConstantPiece):
                parts.append({"constant": [float(v) for v in m.values]})
                continue
            net = m.module.net
            parts.append({"features": m.module.feature_specs, "heads": m.module.head_specs,
                          "network": fmt.network_entry(net, m.dtype)})
            tensors.update({f"piece{k}.{name}": v.detach().cpu().numpy() for name, v in net.state_dict().items()})
        info = {k: v for k, v in self.info.items() if k != "versions"}
        manifest = {
            "relation": fmt.relation_to_dict(self.relation),
            "pieces": parts,
            "certificate": self.certificate.to_dict() if self.certificate is not None else None,
            "training": info,
            "versions": fmt.versions(),
        }
        fmt.write(path, fmt.jsonable(manifest), tensors, schema=fmt.PIECEWISE_SCHEMA)

    def export_onnx(self, path, *, precision: str | None = None) -> None:
        """One ONNX graph for all pieces (onnx.export_onnx)."""
        export_onnx(self, path, precision=precision)

    def export_c(self, path, *, precision: str = "float64", name: str | None = None) -> str:
        """One C99 file for all pieces: the domain check, the dispatch by the pieces' regions, each
        piece's network or constant (c_export.py; see `Surrogate.export_c`).  Returns the C prefix."""
        return export_model(self, path, precision=precision, name=name)


def pieces_text(texts: list[str]) -> str:
    """One line for the networks of a piecewise model: ``5 pieces: MLP, ... each (1 constant)``."""
    nets = [t for t in texts if not t.startswith("constant")]
    what = (nets[0] + (" each" if len(nets) > 1 else "")) if len(set(nets)) == 1 else \
        "; ".join(dict.fromkeys(nets)) if nets else "constants"
    consts = len(texts) - len(nets)
    return f"{len(texts)} pieces: {what}" + (f" ({consts} constant)" if consts and nets else "")


def _dispatch(pieces, inputs, modules, x):
    import torch

    idx = assign(pieces, inputs, x, torch)
    out = None
    for k in reversed(range(len(pieces))):
        y = modules[k](x[:, list(pieces[k].columns)])
        out = y if out is None else torch.where((idx == k)[:, None], y, out)
    return out
