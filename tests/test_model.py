"""Saving, loading and predicting: identical after load, loud outside the domain."""

import numpy as np
import pandas as pd
import pytest
import sympy as sp

import surrogate as sg
from equations.seeds import seed001


@pytest.fixture(scope="module")
def model():
    m = sg.train(seed001, max_steps=200, progress=False)
    m.certificate = sg.verify(m, points=2048, steps=10)
    return m


def test_save_load_identical_predictions(model, tmp_path):
    path = tmp_path / "seed001.surrogate"
    model.save(path)
    same = sg.load(path)
    df = pd.DataFrame(seed001.domain.sobol(2000, seed=2).numpy(), columns=seed001.inputs)
    pd.testing.assert_frame_equal(model.predict(df), same.predict(df), check_exact=True)
    assert same.certificate == model.certificate
    assert same.inputs == seed001.inputs and same.outputs == ["y"]
    assert same.relation.domain.inputs[1].high == sp.Symbol("x1", positive=True)


def test_predict_keeps_index_and_names(model):
    df = pd.DataFrame(seed001.domain.sobol(5).numpy(), columns=seed001.inputs, index=list("abcde"))
    out = model.predict(df.assign(extra=1.0))
    assert list(out.columns) == ["y"] and list(out.index) == list("abcde")


def test_outside_the_domain_names_row_column_and_bound(model):
    df = pd.DataFrame(seed001.domain.sobol(5).numpy(), columns=seed001.inputs)
    df.loc[3, "x2"] = df.loc[3, "x1"] + 1
    with pytest.raises(sg.DomainError, match=r"row 3: x2 = .* not in \[1, "):
        model.predict(df)
    assert np.isfinite(model.predict(df, outside="allow")["y"]).all()


def test_nan_input_is_refused(model):
    df = pd.DataFrame(seed001.domain.sobol(5).numpy(), columns=seed001.inputs)
    df.loc[2, "x4"] = np.nan
    with pytest.raises(sg.DomainError, match="x4 is NaN at row 2"):
        model.predict(df)


def test_missing_column_and_keyword_call(model):
    df = pd.DataFrame(seed001.domain.sobol(5).numpy(), columns=seed001.inputs).drop(columns="x3")
    with pytest.raises(sg.DomainError, match="x3 are missing|columns x3"):
        model.predict(df)
    out = model(x1=600.0, x2=5.0, x3=2000.0, x4=1e-5, x5=30.0)
    assert type(out["y"]) is float  # numbers in, numbers out (issue 19); a list of one gives an array of one
    assert model(x1=[600.0], x2=[5.0], x3=[2000.0], x4=[1e-5], x5=[30.0])["y"].shape == (1,)
    with pytest.raises(sg.DomainError, match="unknown x9"):
        model(x1=600.0, x2=5.0, x3=2000.0, x4=1e-5, x5=30.0, x9=1.0)


def test_artifact_is_not_a_pickle(model, tmp_path):
    path = tmp_path / "m.surrogate"
    model.save(path)
    head = path.read_bytes()[:64]
    assert head[8:9] == b"{"  # safetensors: a length, then a JSON header; no pickle stream
    from surrogate.model import format as fmt

    manifest, tensors = fmt.read(path)
    assert manifest["relation"]["name"] == "seed001" and "versions" in manifest
    assert all(t.dtype == np.float32 for t in tensors.values())
