"""Export a model to ONNX: one graph of float32 physical inputs -> float32 outputs.

Importing it imports no torch (the NumPy runtime loads the piecewise model, which exports
through it).  Any model of the package exports the same way: it gives its torch module in a precision
(`onnx_module`) and lists its networks (`networks`); this module wraps and writes it.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

__all__ = ["ONNX_OPSET", "export_onnx"]


#: ONNX opset of exported graphs: old enough for every maintained runtime, new enough for all ops used.
ONNX_OPSET = 17


def export_onnx(model, path, *, precision: str | None = None) -> None:
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
    import io

    import torch

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

    if precision is None:
        gelu = any(n.module.net.config["activation"] == "gelu" for n in model.networks)
        precision = "float32" if gelu else "float64"
    if precision not in ("float32", "float64"):
        raise ValueError(f"precision must be 'float32' or 'float64', not {precision!r}")
    graph = _OnnxGraph(model.onnx_module(precision))
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
