"""Save and load surrogates (one safetensors file), and export them to ONNX."""

from __future__ import annotations

import math
import os
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
    if hasattr(model, "pieces"):  # one network per piece (piecewise.py)
        from .piecewise import save as save_pieces

        return save_pieces(model, path)
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
    fmt.write(path, _jsonable(manifest), tensors, schema=fmt.SINGLE_SCHEMA)


def load(path, *, device="cpu") -> Surrogate:
    """Load a surrogate saved by `save`; no pickle, no eval, every part checked.

    Raises ArtifactError naming the problem for a corrupt, hostile or unknown file.
    """
    manifest, tensors = fmt.read(path)
    if "pieces" in manifest:  # one network per piece (piecewise.py)
        from .piecewise import load as load_pieces

        return load_pieces(manifest, tensors, device)
    relation, feats, heads, cfg = fmt.model_parts(manifest, tensors)
    cert, info = certificate_and_info(manifest)
    return Surrogate(relation, feats, heads, network(cfg, tensors, device), certificate=cert, info=info)


def network(cfg: dict, weights: dict, device) -> MLP:
    """The MLP a manifest's (validated) network config describes, with its stored weights."""
    net = MLP(cfg["n_in"], cfg["n_out"], width=cfg["width"], depth=cfg["depth"], activation=cfg["activation"],
              skip=cfg["skip"])
    # the dtype first: loading float64 weights into float32 parameters would round them
    net.to(device=device, dtype=getattr(torch, cfg["dtype"]))
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()})
    return net


def certificate_and_info(manifest: dict) -> tuple[Any, dict]:
    """The manifest's certificate (a Certificate, or None) and training info with the versions."""
    cert = fmt.certificate(manifest)
    if cert is not None:
        from .verify import Certificate

        try:
            cert = Certificate.from_dict(cert)
        except TypeError as e:
            raise ArtifactError(f"the certificate in the manifest is malformed: {e}") from None
    info = manifest.get("training") if isinstance(manifest.get("training"), dict) else {}
    return cert, {**info, "versions": manifest.get("versions")}


#: ONNX opset of exported graphs: old enough for every maintained runtime, new enough for all ops used.
ONNX_OPSET = 17


class _OnnxGraph(torch.nn.Module):
    """float32 physical inputs -> float32 outputs; features and heads in float64.

    As in `Surrogate.predict`: a gap such as x1 - x2 near its dependent bound keeps
    its digits through the log of an edge feature, and exp(a + b n) in a head adds
    no rounding of its own.  Only the graph's input and output are float32.
    """

    def __init__(self, module: torch.nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x.to(torch.float64)).to(torch.float32)


def export_onnx(model: Surrogate, path, *, precision: str | None = None) -> None:
    """Write an ONNX graph of `model` to `path`.

    The graph has one input ``inputs``: float32 [N, len(model.inputs)] in physical
    units, in `model.inputs` order, N free; and one output ``outputs``: float32
    [N, len(model.outputs)].  Features and heads are part of the graph (computed
    in float64 inside it); the network runs in `precision`: float64 by default, so
    the graph gives the numbers the torch model and the NumPy runtime give (and the
    certificate covers), or "float32" for runtimes without double matrix products
    (e.g. TensorRT), to float32 rounding.  The default is float64, except for GELU
    networks: ONNX Runtime has no float64 Erf kernel.  Domain checks are not part of it (the
    caller keeps points inside the bounds).  The input and output names are
    recorded in the model's metadata (``surrogate.inputs``, ``surrogate.outputs``,
    comma-separated).

    Exported with torch's TorchScript-based exporter at opset 17: the
    torch.export-based one needs onnxscript, which surrogate does not depend on.
    Needs the ``onnx`` extra; raises ImportError with the install command otherwise.
    """
    try:
        import onnx
    except ImportError as e:
        raise ImportError(f"ONNX export needs the onnx package ({e}); install it with: pip install 'surrogate-formula[onnx]'") from None
    import copy
    import io
    import warnings

    from .model import SurrogateModule

    if precision is None:
        nets = [m.module.net for m in model.networks] if hasattr(model, "pieces") else [model.module.net]
        precision = "float32" if any(n.config["activation"] == "gelu" for n in nets) else "float64"
    if precision not in ("float32", "float64"):
        raise ValueError(f"precision must be 'float32' or 'float64', not {precision!r}")
    if hasattr(model, "pieces"):  # every piece's network, then torch.where by the regions (piecewise.py)
        from .piecewise import onnx_module

        graph = _OnnxGraph(onnx_module(model, precision))
    else:
        net = copy.deepcopy(model.module.net).cpu().eval().to(getattr(torch, precision))
        graph = _OnnxGraph(SurrogateModule(model.relation, model.module.feature_specs, model.module.head_specs, net))
    centre = model.relation.domain.chart(np.full((2, len(model.inputs)), 0.5))
    example = torch.from_numpy(centre).to(torch.float32)  # traced once; the values do not matter
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # The torch.export-based exporter needs onnxscript, which surrogate does not depend on; the
        # TorchScript-based one handles this graph (no control flow) and warns that it is the legacy path.
        warnings.filterwarnings("ignore", message=r"You are using the legacy TorchScript-based ONNX export",
                                category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"The feature will be removed", category=DeprecationWarning)
        torch.onnx.export(
            graph, (example,), buf, dynamo=False, opset_version=ONNX_OPSET,
            input_names=["inputs"], output_names=["outputs"],
            dynamic_axes={"inputs": {0: "N"}, "outputs": {0: "N"}},
        )
    proto = onnx.load_from_string(buf.getvalue())
    for key, value in (("surrogate.inputs", ",".join(model.inputs)), ("surrogate.outputs", ",".join(model.outputs)),
                       ("surrogate.relation", model.relation.name or "")):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "surrogate"
    onnx.checker.check_model(proto)
    onnx.save(proto, os.fspath(path))
