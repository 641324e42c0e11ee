"""Surrogate: a trained network with its scaling, relation and certificate."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ..declaration.relation import Relation
from . import format as fmt
from .c_export import export_model
from .network import MLP
from .onnx import export_onnx
from .predictor import Predictor, network_text
from .scaling import features, heads

__all__ = ["Surrogate", "SurrogateModule"]


class SurrogateModule(nn.Module):
    """Physical inputs [N, len(inputs)] -> physical outputs [N, len(outputs)].

    Features are computed in the dtype of the input (float64 from `predict`, so a
    gap such as x1 - x2 is not lost to float32 rounding), then cast to the
    network's dtype; the heads work in the wider of the two (exp(a + b n) in
    float32 would add b * 6e-8 of relative rounding to every float64 prediction).
    """

    def __init__(self, relation: Relation, feature_specs: list[dict], head_specs: list[dict], net: MLP):
        super().__init__()
        self.relation = relation
        self.feature_specs = feature_specs
        self.head_specs = head_specs
        self.net = net

    def channels(self, x: torch.Tensor) -> torch.Tensor:
        """The network's raw outputs, before the heads."""
        f = features(x, self.feature_specs, self.relation)
        return self.net(f.to(self.net.last.weight.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ch = self.channels(x)
        return heads(ch.to(torch.promote_types(ch.dtype, x.dtype)), self.head_specs)


class Surrogate(Predictor):
    """A trained surrogate of a relation.

    Call it with keyword arrays or numbers, which broadcast (``model(x1=..., x2=...)``
    -> dict of arrays, or of floats for numbers; positional in the order of
    ``inputs`` too), or give it a DataFrame (``model.predict(df)``).  Inputs
    outside the domain or NaN raise DomainError unless ``outside="allow"``
    (extrapolate) or ``outside="nan"`` (NaN there); see `Predictor.__call__`.
    """

    def __init__(
        self,
        relation: Relation,
        feature_specs: list[dict],
        head_specs: list[dict],
        net: MLP,
        *,
        certificate=None,
        info: Mapping[str, Any] | None = None,
    ):
        self.relation = relation
        self.module = SurrogateModule(relation, feature_specs, head_specs, net)
        self.certificate = certificate
        self.info = dict(info or {})

    # -- description ------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.module.net.last.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.module.net.last.weight.dtype

    def to(self, device=None, dtype=None) -> Surrogate:
        self.module.net.to(device=device, dtype=dtype)
        return self

    def __repr__(self) -> str:
        cfg = self.module.net.config
        cert = f", max error {self.certificate.max_error:.3g}" if self.certificate is not None else ""
        return (
            f"Surrogate({self.relation.name or 'relation'}: {', '.join(self.inputs)} -> {', '.join(self.outputs)}; "
            f"MLP {cfg['depth']}x{cfg['width']} {cfg['activation']}{cert})"
        )

    def _network_text(self) -> str:
        return network_text(self.module.net.config, str(self.dtype).replace("torch.", ""))

    # -- evaluation ---------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tensor in, tensor out: [N, len(inputs)] physical -> [N, len(outputs)]; differentiable."""
        return self.module(x)

    @torch.no_grad()
    def evaluate(self, x: np.ndarray, *, batch_size: int = 65536, precision: str = "float64") -> np.ndarray:
        """float64 NumPy [N, d] -> NumPy [N, m] (no domain check).

        By default the network's (float32) weights are evaluated in float64, as the
        NumPy runtime and the ONNX export do: every runtime then gives the same
        numbers to 1e-12, and the certificate (which uses this method) holds for
        each of them.  precision="float32" evaluates as trained, faster, to float32
        rounding (a few 1e-6 relative through an exponential head).
        """
        if precision not in ("float32", "float64"):
            raise ValueError(f"precision must be 'float32' or 'float64', not {precision!r}")
        x = np.asarray(x, dtype=np.float64)
        out = np.empty((x.shape[0], len(self.outputs)), dtype=np.float64)
        module = self.module
        if precision == "float64" and self.dtype != torch.float64:
            module = SurrogateModule(self.relation, module.feature_specs, module.head_specs,
                                     copy.deepcopy(module.net).double())
        module.eval()
        for i in range(0, x.shape[0], batch_size):
            xb = torch.from_numpy(x[i : i + batch_size]).to(self.device)
            out[i : i + batch_size] = module(xb).double().cpu().numpy()
        return out

    @property
    def networks(self) -> list[Surrogate]:
        """The model's networks: itself (a piecewise model lists one per piece)."""
        return [self]

    def onnx_module(self, precision: str) -> SurrogateModule:
        """A copy of the model's module, on the CPU, with the network in `precision` (for export)."""
        net = copy.deepcopy(self.module.net).cpu().eval().to(getattr(torch, precision))
        return SurrogateModule(self.relation, self.module.feature_specs, self.module.head_specs, net)

    # -- persistence ----------------------------------------------------------------------
    def save(self, path) -> None:
        """Write one safetensors file: the weights, and a JSON manifest of the relation,
        scaling, network, certificate, training record and versions (format.py)."""
        net = self.module.net
        manifest = {
            "relation": fmt.relation_to_dict(self.relation),
            "features": self.module.feature_specs,
            "heads": self.module.head_specs,
            "network": fmt.network_entry(net, self.dtype),
            "certificate": self.certificate.to_dict() if self.certificate is not None else None,
            "training": self.info,
            "versions": fmt.versions(),
        }
        tensors = {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}
        fmt.write(path, fmt.jsonable(manifest), tensors, schema=fmt.SINGLE_SCHEMA)

    def export_onnx(self, path, *, precision: str | None = None) -> None:
        """ONNX graph: float32 [N, len(inputs)] in physical units -> [N, len(outputs)] (onnx.export_onnx)."""
        export_onnx(self, path, precision=precision)

    def export_c(self, path, *, precision: str = "float64", name: str | None = None) -> str:
        """One dependency-free C99 file (libm only): domain check, features, network, heads and the
        certificate in its header comment (c_export.py).  The network runs in double, or with
        precision="float32" in float (features and heads stay double); `name` (default: the relation's name) prefixes the C
        functions, NAME_eval and NAME_eval_batch.  Returns the prefix used."""
        return export_model(self, path, precision=precision, name=name)
