"""Load a saved surrogate (one safetensors file) as a torch model.

Writing is each model's own `save` (the manifest through `format.py`); reading goes
through `format.py` too, so a file is parsed and checked in one place for the torch
model and the NumPy runtime alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from . import format as fmt
from .network import MLP
from .piecewise import ConstantPiece, PiecewiseSurrogate
from .records import Certificate
from .surrogate import Surrogate

__all__ = ["load"]


def load(path, *, device="cpu") -> Surrogate | PiecewiseSurrogate:
    """Load a surrogate saved by `save`; no pickle, no eval, every part checked.

    Returns a `Surrogate`, or a `PiecewiseSurrogate` for a piecewise relation's file.
    Raises ArtifactError naming the problem for a corrupt, hostile or unknown file.
    """
    manifest, tensors = fmt.read(path)
    cert, info = certificate_and_info(manifest)
    if "pieces" in manifest:  # one network per piece (piecewise.py)
        relation, parts = fmt.piece_parts(manifest, tensors)
        models = []
        for p, part in zip(relation.pieces, parts):
            if p.constant is not None:
                models.append(ConstantPiece(p.constant, relation.outputs))
                continue
            feats, heads, cfg, weights = part
            models.append(Surrogate(p.relation, feats, heads, network(cfg, weights, device)))
        return PiecewiseSurrogate(relation, models, certificate=cert, info=info)
    relation, feats, heads, cfg = fmt.model_parts(manifest, tensors)
    return Surrogate(relation, feats, heads, network(cfg, tensors, device), certificate=cert, info=info)


def network(cfg: dict, weights: dict, device) -> MLP:
    """The MLP a manifest's (validated) network config describes, with its stored weights."""
    net = MLP(cfg["n_in"], cfg["n_out"], width=cfg["width"], depth=cfg["depth"], activation=cfg["activation"],
              skip=cfg["skip"])
    # the dtype first: loading float64 weights into float32 parameters would round them
    net.to(device=device, dtype=getattr(torch, cfg["dtype"]))
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()})
    return net


def certificate_and_info(manifest: dict) -> tuple[Certificate | None, dict[str, Any]]:
    """The manifest's certificate (a Certificate, or None) and training info with the versions."""
    cert = fmt.certificate(manifest)
    info = manifest.get("training") if isinstance(manifest.get("training"), dict) else {}
    return cert, {**info, "versions": manifest.get("versions")}
