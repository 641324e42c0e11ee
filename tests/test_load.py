"""One load (issue 22, item 6): `sg.load`, `surrogate.runtime.load`, `sg.catalogue` and the command
line take a file or a shipped name (``gnielinski``, ``convection:gnielinski``), resolve the name in
one place (`shipped.entry`), and hand back the same `Certificate`."""

from __future__ import annotations

import dataclasses
import inspect
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import surrogate as sg
from surrogate import runtime
from surrogate.errors import ArtifactError
from surrogate.interface.cli import main
from surrogate.model.piecewise import PiecewiseSurrogate
from surrogate.model.records import Certificate
from surrogate.model.surrogate import Surrogate
from surrogate.persistence import shipped

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
NAME = "gnielinski"  # a plain shipped relation; convection:gnielinski as `surrogate list` prints it
QUALIFIED = "convection:gnielinski"
PIECEWISE = "flat_plate_average"  # a shipped relation with one network per piece


def _cert_of(name: str) -> Certificate:
    return shipped.status(shipped.entry(name)).certificate


# -- a path ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("file", sorted(p.name for p in GOLDEN.glob("*.surrogate")))
def test_every_golden_file_loads_by_path_with_the_same_certificate_type_from_both_loads(file):
    path = GOLDEN / file
    for arg in (path, str(path)):
        model, lean = sg.load(arg), runtime.load(arg)
        assert isinstance(model, (Surrogate, PiecewiseSurrogate))
        assert isinstance(lean, (runtime.Runtime, runtime.PiecewiseRuntime))
        assert (model.certificate is None) == (lean.certificate is None)
        if model.certificate is not None:
            assert type(lean.certificate) is Certificate and lean.certificate == model.certificate


def test_a_file_wins_over_a_shipped_name_of_the_same_spelling(tmp_path, monkeypatch):
    shutil.copy(GOLDEN / "seed001_gelu.surrogate", tmp_path / NAME)
    monkeypatch.chdir(tmp_path)
    assert sg.load(NAME).inputs == sg.load(GOLDEN / "seed001_gelu.surrogate").inputs != sg.catalogue(NAME).inputs
    assert runtime.load(NAME).relation.inputs == sg.load(NAME).inputs


def test_a_missing_file_is_an_artifact_error_not_an_unknown_name(tmp_path):
    for loader in (sg.load, runtime.load):
        with pytest.raises(ArtifactError, match="cannot read artifact"):
            loader("no_such_model.surrogate")
        with pytest.raises(ArtifactError, match="cannot read artifact"):
            loader(str(tmp_path / "gnielinski"))  # a separator: a path, even with a shipped name's stem


# -- a shipped name ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [NAME, QUALIFIED, "equations.convection:gnielinski"])
def test_a_shipped_name_loads_plain_or_as_module_name(name):
    want = sg.catalogue(NAME)
    x = np.array([[1e5, 7.0], [1e4, 0.7]])
    for model in (sg.load(name), sg.catalogue(name)):
        assert type(model) is Surrogate and model.relation.name == NAME
        np.testing.assert_array_equal(model.evaluate(x), want.evaluate(x))
        assert type(model.certificate) is Certificate and model.certificate == _cert_of(NAME)
    lean = runtime.load(name)
    assert type(lean) is runtime.Runtime and type(lean.certificate) is Certificate
    assert lean.certificate == _cert_of(NAME)
    np.testing.assert_allclose(lean.evaluate(x), want.evaluate(x), rtol=1e-12)


def test_the_certificate_is_the_same_type_from_every_load():
    certs = {
        "sg.load": sg.load(NAME).certificate,
        "runtime.load": runtime.load(NAME).certificate,
        "catalogue torch": sg.catalogue(NAME, runtime=False).certificate,
        "catalogue numpy": sg.catalogue(NAME, runtime=True).certificate,
        "shipped.status": _cert_of(NAME),
    }
    assert {k: type(c).__name__ for k, c in certs.items()} == dict.fromkeys(certs, "Certificate")
    assert all(c == certs["sg.load"] for c in certs.values())
    assert certs["runtime.load"].max_error == pytest.approx(5.25e-5, rel=0.05)  # attribute access, not c["..."]


def test_a_piecewise_shipped_relation_loads_as_a_piecewise_model_from_every_load():
    model, lean = sg.load(PIECEWISE), runtime.load(f"external:{PIECEWISE}")
    assert type(model) is PiecewiseSurrogate and type(lean) is runtime.PiecewiseRuntime
    assert type(model.certificate) is type(lean.certificate) is Certificate
    assert model.certificate == lean.certificate and len(model.certificate.pieces) == 2
    x = model.relation.domain.sobol(64, seed=3)
    x = np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=np.float64)  # both pieces' regions
    np.testing.assert_allclose(lean.evaluate(x), model.evaluate(x), rtol=1e-12)


def test_train_and_load_say_they_may_return_a_piecewise_surrogate():
    for f in (sg.train, sg.load, sg.catalogue):
        assert "PiecewiseSurrogate" in str(inspect.signature(f).return_annotation), f.__qualname__
    assert "PiecewiseRuntime" in str(inspect.signature(runtime.load).return_annotation)


def test_catalogue_names_lists_both_forms_and_each_loads():
    plain, qualified = sg.catalogue_names(), sg.catalogue_names(qualified=True)
    assert NAME in plain and QUALIFIED in qualified and len(plain) == len(qualified) == len(shipped.entries())
    assert [q.partition(":")[2] for q in qualified] == plain
    assert sg.load(qualified[plain.index(PIECEWISE)]).relation.name == PIECEWISE


# -- a name that is not there ----------------------------------------------------------------------------


@pytest.mark.parametrize("loader", [sg.load, runtime.load], ids=["torch", "numpy"])
def test_an_unknown_name_is_refused_with_the_close_names(loader):
    with pytest.raises(shipped.UnknownRelation) as err:
        loader("gnielinsky")
    msg = str(err.value)
    assert msg.startswith("'gnielinsky' is neither a file nor a shipped surrogate: ")
    assert "did you mean gnielinski?" in msg and "(see `surrogate list --shipped`)" in msg
    with pytest.raises(KeyError, match="did you mean convection:gnielinski"):
        loader("convection:gnielinsky")
    with pytest.raises(KeyError, match="did you mean convection:gnielinski"):
        loader("external:gnielinski")  # the right name in the wrong module
    with pytest.raises(KeyError, match=r"seeds:seed001 is declared but not shipped trained .*surrogate train seeds:seed001"):
        loader("seeds:seed001")


def test_a_plain_name_two_modules_ship_is_refused_as_ambiguous(monkeypatch):
    real = shipped.entries()
    twin = dataclasses.replace(next(e for e in real if e.name == NAME), module="equations.external")
    monkeypatch.setattr(shipped, "entries", lambda folder=None: [*real, twin])
    # the shipped index (keyed by name: `surrogate build` refuses two relations of one name) cannot hold
    # such a twin, so the lookup through it is off here and the full resolution answers
    monkeypatch.setattr(shipped, "_indexed", lambda name, folder=None: None)
    with pytest.raises(shipped.UnknownRelation, match="ambiguous: it is convection:gnielinski and external:gnielinski"):
        sg.load(NAME)
    assert shipped.entry(QUALIFIED).module == "equations.convection"  # module:name still picks one
    assert shipped.entry("external:gnielinski") is twin


# -- one resolution for every load and the command line -------------------------------------------------


def test_every_load_and_the_command_line_resolve_a_name_through_shipped_entry(monkeypatch, tmp_path, capsys):
    want = float(sg.load(NAME)(Re=[1e5], Pr=[7.0])["Nu"][0])
    seen = []
    real = shipped.entry
    monkeypatch.setattr(shipped, "entry", lambda name, folder=None: seen.append(name) or real(name, folder))
    sg.load(QUALIFIED)
    runtime.load(QUALIFIED)
    sg.catalogue(QUALIFIED)
    csv = tmp_path / "in.csv"
    pd.DataFrame({"Re": [1e5], "Pr": [7.0]}).to_csv(csv, index=False)
    assert main(["predict", QUALIFIED, str(csv)]) == 0
    assert float(capsys.readouterr().out.split()[-1]) == pytest.approx(want)
    monkeypatch.chdir(tmp_path)  # a shipped name's report goes to NAME-report here, not beside the artifact
    assert main(["report", QUALIFIED, "--points", "16"]) == 0
    assert (tmp_path / f"{NAME}-report" / "index.html").is_file()
    assert set(seen) == {QUALIFIED} and len(seen) >= 5  # sg.load, runtime.load, sg.catalogue, predict, report
    assert main(["predict", "gnielinsky", str(csv)]) == 2
    assert "'gnielinsky' is neither a file nor a shipped surrogate: " in capsys.readouterr().err


# -- without torch --------------------------------------------------------------------------------------

NO_TORCH = textwrap.dedent(
    """
    import sys
    sys.modules["torch"] = None  # any `import torch` now raises ImportError
    sys.modules["pandas"] = None  # the certificate needs pandas only for to_frame
    from surrogate import runtime
    from surrogate.model.records import Certificate
    m = runtime.load("convection:gnielinski")
    assert type(m.certificate) is Certificate, type(m.certificate)
    print(type(m).__name__, repr(float(m(Re=[1e5], Pr=[7.0])["Nu"][0])))
    try:
        m.certificate.to_frame()
    except ImportError:
        print("to_frame needs pandas")
    leaked = sorted(k for k, v in sys.modules.items() if k.startswith(("torch", "pandas")) and v is not None)
    print(",".join(leaked) or "clean")
    """
)


def test_the_runtime_loads_a_shipped_name_where_torch_and_pandas_cannot_be_imported():
    done = subprocess.run([sys.executable, "-c", NO_TORCH], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    first, frame, leaked = done.stdout.split("\n")[:3]
    assert first.split()[0] == "Runtime"
    assert float(first.split()[1]) == pytest.approx(float(sg.load(NAME)(Re=[1e5], Pr=[7.0])["Nu"][0]), rel=1e-9)
    assert frame == "to_frame needs pandas" and leaked == "clean"


def test_a_shipped_name_declares_only_its_own_module():
    """A first `sg.load(name)` (each notebook's kernel makes one) imports the one module that declares
    the relation, found through the shipped index, not every module of the catalogue (seconds)."""
    code = ("import sys, surrogate as sg; sg.load('convection:gnielinski'); sg.catalogue('lmtd'); "
            "print(sorted(m for m in sys.modules if m.startswith('equations.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['equations.convection',", "'equations.exchangers']"], out
