"""ONNX export: one float32 input in physical units, one output, scaling inside, any batch size."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import surrogate as sg
from surrogate import runtime
from surrogate.interface import cli

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from test_runtime import EPS32, EXPECTED, GOLDEN, model_agreement, points  # noqa: E402


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def exported(request, tmp_path_factory):
    model = sg.load(GOLDEN / EXPECTED[request.param]["file"])
    path = tmp_path_factory.mktemp("onnx") / f"{request.param}.onnx"
    model.export_onnx(path)
    return model, path


def test_the_graph_has_one_named_float32_input_and_output_with_a_free_batch(exported):
    model, path = exported
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    (inp,), (out,) = session(path).get_inputs(), session(path).get_outputs()
    assert (inp.name, inp.type, inp.shape[1]) == ("inputs", "tensor(float)", len(model.inputs))
    assert (out.name, out.type, out.shape[1]) == ("outputs", "tensor(float)", len(model.outputs))
    assert isinstance(inp.shape[0], str) and isinstance(out.shape[0], str), "batch size must be symbolic"
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["surrogate.inputs"].split(",") == model.inputs
    assert meta["surrogate.outputs"].split(",") == model.outputs


def test_onnx_matches_torch_and_numpy_to_float32_rounding(exported):
    model, path = exported
    x32 = points(model).astype(np.float32)
    x = x32.astype(np.float64)  # the same points for everyone
    inside = model.relation.domain.contains(x)
    x, x32 = x[inside], x32[inside]
    y_onnx = session(path).run(None, {"inputs": x32})[0].astype(np.float64)
    y_torch = model.evaluate(x)
    y_numpy = runtime.load(GOLDEN / f"{path.stem}.surrogate").evaluate(x)
    for other in (y_torch, y_numpy):
        ulps = model_agreement(y_onnx, other, model, x)
        # README: the runtimes agree to 1e-7 (of the head's scale, per unit of its slope)
        assert ulps * EPS32 <= 1e-7, f"ONNX differs by {ulps * EPS32:.2g}"


@pytest.mark.parametrize("n", [1, 7, 3000])
def test_any_batch_size(exported, n):
    model, path = exported
    x = points(model, n).astype(np.float32)
    assert session(path).run(None, {"inputs": x})[0].shape == (n, len(model.outputs))


def test_the_cli_exports(tmp_path, capsys):
    src = GOLDEN / "seed001_gelu.surrogate"
    out = tmp_path / "s.onnx"
    assert cli.main(["export", str(src), "--onnx", str(out)]) == 0
    assert "x1, x2, x3, x4, x5" in capsys.readouterr().out
    assert session(out).get_inputs()[0].shape[1] == 5
    copy = tmp_path / "m.surrogate"
    copy.write_bytes(src.read_bytes())
    assert cli.main(["export", str(copy), "--onnx"]) == 0
    assert (tmp_path / "m.onnx").exists()
    assert cli.main(["export", str(copy)]) == 2
    assert "--onnx" in capsys.readouterr().err


def test_without_onnx_the_error_says_what_to_install(monkeypatch, tmp_path):
    model = sg.load(GOLDEN / "paraboloid_silu.surrogate")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'surrogate-formula\[onnx\]'"):
        model.export_onnx(tmp_path / "p.onnx")
    assert not (tmp_path / "p.onnx").exists()


def test_export_leaves_the_model_as_it_was(tmp_path):
    model = sg.load(GOLDEN / "cosexp_tanh_f64.surrogate")
    before = {k: v.clone() for k, v in model.module.net.state_dict().items()}
    model.export_onnx(tmp_path / "c.onnx")
    assert model.dtype == torch.float64
    for k, v in model.module.net.state_dict().items():
        assert torch.equal(v, before[k])


def catalogue():
    """Every relation of the catalogue, the ones with parameters at their true values."""
    import importlib

    import equations

    known = {"cosexp": {"a": 0.583, "b": 0.112}}
    for module in equations.MODULES:
        for name in importlib.import_module(module).__all__:
            rel = getattr(importlib.import_module(module), name)
            if isinstance(rel, sg.Relation):
                yield pytest.param(rel.substitute(known[name]) if rel.parameters else rel, id=name)


@pytest.mark.parametrize("rel", list(catalogue()))
def test_catalogue_surrogates_agree_across_torch_onnx_and_numpy(rel, tmp_path):
    """Default network, a short training run: the three runtimes give one answer."""
    model = sg.train(rel, max_steps=30, progress=False, device="cpu", atol=rel.suggested_atol())
    model.save(tmp_path / "m.surrogate")
    model.export_onnx(tmp_path / "m.onnx")
    x = rel.domain.sobol(5000, seed=4).numpy().astype(np.float32).astype(np.float64)
    x = x[rel.domain.contains(x)]
    y_torch = model.evaluate(x)
    y_numpy = runtime.load(tmp_path / "m.surrogate").evaluate(x)
    y_onnx = session(tmp_path / "m.onnx").run(None, {"inputs": x.astype(np.float32)})[0].astype(np.float64)
    for a, b in ((y_numpy, y_torch), (y_onnx, y_torch), (y_onnx, y_numpy)):
        assert model_agreement(a, b, model, x) < 16
