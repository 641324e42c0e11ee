"""The FMU export (model/fmu.py): FMI 2.0 FMUs written for shipped and golden surrogates, validated
by fmpy, instantiated by fmpy for model exchange and co-simulation, and compared point by point
with the NumPy runtime.

A two-input shipped surrogate (Gnielinski), a multi-output implicit one (the pump on its pipe), one
whose bound depends on another input (Churchill-Bernstein's Re >= 0.2/Pr) and a golden piecewise
model with a constant piece: fmpy's validation finds no problem; the outputs are the runtime's to
1e-12 relative (of max(|y|, S(x)), as tests/test_c_export.py measures the C file they call) at
300 points; a point past a bound, or a NaN, is an fmi2Error whose logged message names the input
and its bounds, not a value.
"""

from __future__ import annotations

import math
import pathlib
import shutil
import subprocess
import zipfile
from dataclasses import replace

import numpy as np
import pytest

from surrogate import runtime
from surrogate.declaration.reference import explicit_reference
from surrogate.errors import ExportError
from surrogate.model import embed, fmu
from surrogate.persistence.load import resolve

fmpy = pytest.importorskip("fmpy", reason=f"fmpy runs the FMUs: {fmu.INSTALL_FMU}")
from fmpy import extract, read_model_description, simulate_fmu  # noqa: E402
from fmpy.fmi1 import FMICallException  # noqa: E402
from fmpy.fmi2 import FMU2Model, FMU2Slave  # noqa: E402
from fmpy.validation import validate_fmu  # noqa: E402

CC = shutil.which("cc")
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler: `cc` is not on PATH, so the FMU's binary "
                                                   "cannot be built here")

GOLDEN = pathlib.Path(__file__).parent / "golden"
MODELS = {
    "gnielinski": "gnielinski",
    "pump": "pump_pipe_operating_point",
    "churchill_bernstein": "churchill_bernstein",
    "pieces": GOLDEN / "pieces_silu.surrogate",
}
#: |fmu - numpy| <= RTOL * max(|numpy|, S(x)): the C file's agreement (tests/test_c_export.py)
RTOL = 1e-12
POINTS = 300


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """{key: (fmu path, runtime)}, each FMU written once from its artifact (no torch)."""
    out = {}
    folder = tmp_path_factory.mktemp("fmu")
    for key, what in MODELS.items():
        artifact = what if isinstance(what, pathlib.Path) else resolve(what)
        path = folder / f"{key}.fmu"
        fmu.export_artifact(artifact, path)
        out[key] = (path, runtime.load(artifact))
    return out


def _points(rt, n: int = POINTS) -> np.ndarray:
    dom = rt.relation.domain
    u = np.random.default_rng(0).random((n, dom.dim))
    u[: 2**dom.dim] = (np.arange(2**dom.dim)[:, None] >> np.arange(dom.dim)) & 1  # the corners
    x = dom.clip(dom.chart(u))
    assert np.all(dom.contains(x))
    return x


def _scale(rt, x: np.ndarray) -> np.ndarray:
    """S(x) of an explicit relation (the certificate's denominator), else 0."""
    rel = rt.relation
    if not rel.is_explicit:
        return np.zeros((len(x), len(rel.outputs)))
    s = np.abs(explicit_reference(rel, x, refine=False).scales)
    return np.where(np.isfinite(s), s, 0.0)


class _Instance:
    """An instantiated FMU, model exchange or co-simulation, in its running mode."""

    def __init__(self, path: pathlib.Path, kind: str = "ModelExchange"):
        md = read_model_description(str(path))
        self.vars = {v.name: v for v in md.modelVariables}
        cls, ident = (FMU2Model, md.modelExchange.modelIdentifier) if kind == "ModelExchange" else \
            (FMU2Slave, md.coSimulation.modelIdentifier)
        self.fmu = cls(guid=md.guid, unzipDirectory=extract(str(path)), modelIdentifier=ident, instanceName="test")
        self.fmu.instantiate()
        self.fmu.setupExperiment(startTime=0.0)
        self.fmu.enterInitializationMode()
        self.fmu.exitInitializationMode()
        if kind == "ModelExchange":
            self.fmu.enterContinuousTimeMode()

    def __call__(self, inputs: list[str], outputs: list[str], row) -> np.ndarray:
        self.fmu.setReal([self.vars[n].valueReference for n in inputs], [float(v) for v in row])
        return np.array(self.fmu.getReal([self.vars[n].valueReference for n in outputs]))

    def close(self):
        self.fmu.terminate()
        self.fmu.freeInstance()


@pytest.mark.parametrize("key", list(MODELS))
def test_fmpy_validates_the_fmu(key, built):
    path, rt = built[key]
    assert validate_fmu(str(path)) == []
    md = read_model_description(str(path))
    assert md.fmiVersion == "2.0" and md.numberOfEventIndicators == 0 and not md.derivatives
    assert md.modelExchange is not None and md.coSimulation is not None
    ins = [v for v in md.modelVariables if v.causality == "input"]
    outs = [v for v in md.modelVariables if v.causality == "output"]
    assert [v.name for v in ins] == rt.inputs and [v.name for v in outs] == rt.outputs
    assert all(v.variability == "continuous" for v in ins + outs)
    start = np.array([[float(v.start) for v in ins]])
    assert rt.relation.domain.contains(start)[0]
    assert [u.variable.name for u in md.outputs] == rt.outputs
    assert all([d.name for d in u.dependencies] == rt.inputs for u in md.outputs)
    cert = rt.certificate
    assert f"max error {cert.max_error:.4g}" in md.description and cert.error in md.description
    names = set(zipfile.ZipFile(path).namelist())
    ident = md.modelExchange.modelIdentifier
    assert {f"binaries/linux64/{ident}.so", f"sources/{ident}.c", f"sources/{ident}_fmi2.c",
            "sources/fmi2Functions.h", "documentation/index.html"} <= names


@pytest.mark.parametrize("kind", ["ModelExchange", "CoSimulation"])
@pytest.mark.parametrize("key", list(MODELS))
def test_the_fmu_gives_the_numpy_runtimes_values(key, kind, built):
    path, rt = built[key]
    x = _points(rt)
    inst = _Instance(path, kind)
    try:
        y = np.stack([inst(rt.inputs, rt.outputs, row) for row in x])
    finally:
        inst.close()
    ref = rt.evaluate(x)
    err = np.abs(y - ref) / np.maximum(np.maximum(np.abs(ref), _scale(rt, x)), 1e-300)
    assert float(err.max()) <= RTOL, f"{key}: the FMU differs from the NumPy runtime by {err.max():.3g}"


@pytest.mark.parametrize("key", ["gnielinski", "pump", "pieces"])
def test_a_point_outside_the_domain_is_an_error_naming_the_input_and_its_bounds(key, built, capsys):
    path, rt = built[key]
    inside = _points(rt, 20)[-1]
    inst = _Instance(path)
    dom = rt.relation.domain
    try:
        assert np.all(np.isfinite(inst(rt.inputs, rt.outputs, inside)))
        capsys.readouterr()
        for k, name in enumerate(rt.inputs):
            lo, hi = float(dom.inputs[k].low), float(dom.inputs[k].high)
            for v in (np.nextafter(hi, math.inf), lo - 0.5 * (hi - lo), math.nan):
                row = inside.copy()
                row[k] = v
                with pytest.raises(FMICallException, match="fmi2GetReal failed"):
                    inst(rt.inputs, rt.outputs, row)
                said = capsys.readouterr().out
                if math.isnan(v):
                    assert f"input {name} is NaN" in said
                else:
                    assert f"{name} = {v:.17g} is outside its bounds {lo:.12g} <= {name} <= {hi:.12g}" in said
                    assert "does not extrapolate" in said
            # back inside, the FMU gives values again
            assert np.all(np.isfinite(inst(rt.inputs, rt.outputs, inside)))
    finally:
        inst.close()


def test_a_bound_that_depends_on_another_input_is_explained(built, capsys):
    """Churchill-Bernstein: Re >= 0.2/Pr; at Pr = 1, Re = 0.1 lies inside Re's whole range [2e-4, 1e7]."""
    path, rt = built["churchill_bernstein"]
    assert rt.inputs == ["Pr", "Re"]
    inst = _Instance(path)
    try:
        assert np.isfinite(inst(rt.inputs, rt.outputs, [1.0, 0.25])).all()
        capsys.readouterr()
        with pytest.raises(FMICallException):
            inst(rt.inputs, rt.outputs, [1.0, 0.1])
        said = capsys.readouterr().out
    finally:
        inst.close()
    assert "a bound depends on other inputs" in said and "Pr = 1, Re = 0.10000000000000001" in said
    assert "0.2/Pr <= Re <= 10000000" in said


@pytest.mark.parametrize("kind", ["ModelExchange", "CoSimulation"])
def test_fmpy_simulates_it_with_inputs_that_move(kind, built):
    """fmpy's own simulation (its solver for model exchange, its master for co-simulation), the
    inputs interpolated between two points of the domain: the recorded outputs are the runtime's
    at the recorded inputs."""
    path, rt = built["pump"]
    a, b = _points(rt, 20)[-2:]
    signal = np.array([(0.0, *a), (1.0, *b)], dtype=[("time", np.float64)] + [(n, np.float64) for n in rt.inputs])
    res = simulate_fmu(str(path), fmi_type=kind, stop_time=1.0, output_interval=0.1, input=signal,
                       output=rt.inputs + rt.outputs)
    x = np.stack([res[n] for n in rt.inputs], 1)
    y = np.stack([res[n] for n in rt.outputs], 1)
    assert len(x) >= 10 and np.ptp(x, axis=0).min() > 0  # the inputs moved
    ref = rt.evaluate(x)
    assert float(np.max(np.abs(y - ref) / np.abs(ref))) <= RTOL


def test_the_sources_alone_build_the_fmu(built, tmp_path):
    """sources/ compiles by itself under strict flags (another platform builds it so), and an FMU written
    with binary=False holds the sources alone and passes validation."""
    path, rt = built["gnielinski"]
    src = tmp_path / "src"
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.startswith("sources/"):
                z.extract(n, src)
    cmd = [CC, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
           "-I", str(src / "sources"), "-o", str(tmp_path / "g.so"), str(src / "sources" / "gnielinski_fmi2.c"), "-lm"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[:4000]
    fmu.export_artifact(resolve("gnielinski"), tmp_path / "s.fmu", binary=False)
    names = zipfile.ZipFile(tmp_path / "s.fmu").namelist()
    assert not any(n.startswith("binaries/") for n in names) and "sources/gnielinski_fmi2.c" in names
    assert validate_fmu(str(tmp_path / "s.fmu")) == []


def test_units_where_the_relation_declares_them(tmp_path):
    m = embed.of_artifact(resolve("pump_pipe_operating_point"))
    m = replace(m, units={"H0": "m", "L": "m", "D": "m", "k_s": "m", "Q": "m3/s"})
    fmu._write(m, tmp_path / "u.fmu", False)
    assert validate_fmu(str(tmp_path / "u.fmu")) == []
    md = read_model_description(str(tmp_path / "u.fmu"))
    assert {v.name: v.unit for v in md.modelVariables} == {**m.units, "f": None}
    assert sorted(u.name for u in md.unitDefinitions) == ["m", "m3/s"]


def test_the_same_model_gives_the_same_fmu_and_guid(tmp_path, built):
    path, _ = built["pieces"]
    fmu.export_artifact(MODELS["pieces"], tmp_path / "again.fmu")
    assert (tmp_path / "again.fmu").read_bytes() == path.read_bytes()


def test_no_compiler_is_refused_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    with pytest.raises(ExportError, match="no C compiler found.*binary=False"):
        fmu.export_artifact(resolve("gnielinski"), tmp_path / "g.fmu")
    assert not (tmp_path / "g.fmu").exists()


def test_a_model_in_memory_and_the_command_line(tmp_path, capsys):
    from surrogate.interface.cli import main

    rt = runtime.load(MODELS["pieces"])
    assert rt.export_fmu(tmp_path / "m.fmu") == rt.relation.name == "pieces"
    assert validate_fmu(str(tmp_path / "m.fmu")) == []
    out = tmp_path / "g.fmu"
    assert main(["export", "gnielinski", "--fmu", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"wrote {out}" in said and "FMI 2.0" in said
    assert validate_fmu(str(out)) == []


def test_the_torch_model_writes_the_fmu_its_runtime_writes(tmp_path):
    """export_fmu is one method of every model (Predictor): the torch model's FMU is the runtime's, byte for byte."""
    import surrogate as sg

    sg.load(MODELS["pieces"]).export_fmu(tmp_path / "torch.fmu", binary=False)
    runtime.load(MODELS["pieces"]).export_fmu(tmp_path / "numpy.fmu", binary=False)
    assert (tmp_path / "torch.fmu").read_bytes() == (tmp_path / "numpy.fmu").read_bytes()


def test_the_command_line_asks_for_a_format(capsys):
    from surrogate.interface.cli import main

    assert main(["export", "gnielinski"]) == 2
    assert "--fmu [OUT] or --modelica [DIR]" in capsys.readouterr().err


def test_another_guid_is_refused(built, capsys):
    path, _ = built["gnielinski"]
    md = read_model_description(str(path))
    other = FMU2Model(guid="{00000000-0000-0000-0000-000000000000}", unzipDirectory=extract(str(path)),
                      modelIdentifier=md.modelExchange.modelIdentifier, instanceName="test")
    with pytest.raises(Exception, match="Failed to instantiate"):
        other.instantiate()
    assert f"is not this FMU's ({md.guid})" in capsys.readouterr().out
    other.freeLibrary()


@pytest.mark.slow  # a fresh interpreter: 10 s under load
def test_the_plain_install_writes_fmus_and_packages(tmp_path):
    """Neither export needs the train extra: with torch, pandas, Hypothesis and tqdm unimportable, the
    command line writes both from a shipped name."""
    import os
    import sys

    from surrogate.errors import TRAIN_MODULES

    code = (f"import sys\nfor m in {TRAIN_MODULES!r}: sys.modules[m] = None\n"
            "from surrogate.interface.cli import main\n"
            f"sys.exit(main(['export', 'lmtd', '--fmu', {str(tmp_path / 'l.fmu')!r}, '--fmu-sources-only', "
            f"'--modelica', {str(tmp_path)!r}]))\n")
    env = {**os.environ, "PYTHONPATH": str(pathlib.Path(__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert validate_fmu(str(tmp_path / "l.fmu")) == [] and (tmp_path / "lmtd" / "package.mo").exists()
