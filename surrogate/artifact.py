"""Save and load surrogates (one safetensors file), and export them to ONNX."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from . import format as fmt
from .errors import ArtifactError
from .model import Surrogate
from .network import MLP

__all__ = ["save", "load", "export_onnx"]


def _versions() -> dict[str, str]:
    import sympy

    from . import __version__

    return {"surrogate": __version__, "torch": torch.__version__, "sympy": sympy.__version__, "numpy": np.__version__}


def _jsonable(v: Any) -> Any:
    """Training info may hold tuples and non-finite floats; JSON gets lists and null."""
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (np.floating, np.integer)):
        return _jsonable(v.item())
    return v


def save(model: Surrogate, path) -> None:
    """Write `model` to `path`: weights, relation, scaling, certificate, versions."""
    net = model.module.net
    manifest = {
        "relation": fmt.relation_to_dict(model.relation),
        "features": model.module.feature_specs,
        "heads": model.module.head_specs,
        "network": {**net.config, "dtype": str(model.dtype).replace("torch.", "")},
        "certificate": _jsonable(model.certificate.to_dict()) if model.certificate is not None else None,
        "training": _jsonable(model.info),
        "versions": _versions(),
    }
    tensors = {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}
    fmt.write(path, _jsonable(manifest), tensors)


def load(path, *, device="cpu") -> Surrogate:
    """Load a surrogate saved by `save`; no pickle, no eval, every part checked.

    Raises ArtifactError naming the problem for a corrupt, hostile or unknown file.
    """
    manifest, tensors = fmt.read(path)
    relation, feats, heads, cfg = fmt.model_parts(manifest, tensors)
    dtype = manifest["network"].get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ArtifactError(f"network dtype {dtype!r} is not float32 or float64")
    net = MLP(cfg["n_in"], cfg["n_out"], width=cfg["width"], depth=cfg["depth"], activation=cfg["activation"])
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()})
    net.to(device=device, dtype=getattr(torch, dtype))
    cert = None
    if manifest.get("certificate") is not None:
        from .verify import Certificate

        try:
            cert = Certificate.from_dict(manifest["certificate"])
        except TypeError as e:
            raise ArtifactError(f"the certificate in the manifest is malformed: {e}") from None
    info = manifest.get("training") if isinstance(manifest.get("training"), dict) else {}
    info = {**info, "versions": manifest.get("versions")}
    return Surrogate(relation, feats, heads, net, certificate=cert, info=info)


def export_onnx(model: Surrogate, path) -> None:
    """Export to ONNX: float32 [N, len(inputs)] physical inputs -> [N, len(outputs)]."""
    raise NotImplementedError("ONNX export arrives with the shipping issue")
