"""The package as users install it: its name, its dependencies, its wheel.

The fast tier checks, without a network, that the install hints name the distribution, that the
NumPy runtime imports nothing but the core dependencies, and that CI runs the README's command.

The packaging tier (``-m slow`` or ``-m packaging``: it needs the package index) builds the sdist
and the wheel with ``python -m build`` from a copy of the checkout and installs the wheel into fresh
virtual environments, run from a folder outside the checkout:

- with the ``train`` extra (and this interpreter's torch version, installed first): ``surrogate
  list``, ``surrogate train`` on a catalogue relation and ``import surrogate.runtime`` work;
- plain (the lean runtime install): torch, pandas, Hypothesis and tqdm are absent, and every golden
  artifact predicts what it predicted when it was written.
"""

from __future__ import annotations

import email.parser
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement

import surrogate
from surrogate.errors import DISTRIBUTION, INSTALL_TRAIN, TRAIN_MODULES

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
EXPECTED = json.loads((GOLDEN / "expected.json").read_text())
#: The distributions of the `train` extra (their import names are the same).
TRAIN_DISTRIBUTIONS = set(TRAIN_MODULES)


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


# -- the NumPy runtime, with the train extra made unimportable ------------------------------------------
#: Run by an interpreter with the golden folder as argv[1]: predicts from every golden artifact with
#: keyword arrays (no pandas), runs `surrogate list` and `surrogate train`, and prints what happened as
#: JSON, with the third-party modules the package imported.
LEAN_CHECK = """
import contextlib, io, json, pathlib, sys
before = set(sys.modules)
import numpy as np
import surrogate
from surrogate import runtime
from surrogate.interface.cli import main

golden = pathlib.Path(sys.argv[1])
result = {"file": surrogate.__file__, "predictions": {}}
for name, case in json.loads((golden / "expected.json").read_text()).items():
    model = runtime.load(golden / case["file"])
    got = model(**{k: np.array(v) for k, v in case["inputs"].items()})
    result["predictions"][name] = {o: got[o].tolist() for o in case["outputs"]}
try:
    surrogate.train
except ImportError as e:
    result["train_attribute"] = str(e)
for command in (["list"], ["train", "seeds:paraboloid", "--max-steps", "5"]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(command)
    result[command[0]] = {"status": status, "stdout": out.getvalue(), "stderr": err.getvalue()}
result["modules"] = sorted({m.partition(".")[0] for m in set(sys.modules) - before
                            if sys.modules[m] is not None} - set(sys.stdlib_module_names))
print(json.dumps(result))
"""

#: Makes the train extra unimportable in this interpreter, as if it were not installed.
BLOCK_TRAIN = f"import sys\nfor m in {TRAIN_MODULES!r}: sys.modules[m] = None\n"


def _run_lean_check(python: str, *, prelude: str = "", cwd: Path = ROOT, env=None) -> dict:
    done = subprocess.run([python, "-c", prelude + LEAN_CHECK, str(GOLDEN)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.splitlines()[-1])


def _assert_lean_result(result: dict) -> None:
    """What a machine with only the plain install must be able to do, and say."""
    for name, case in EXPECTED.items():
        for o, want in case["outputs"].items():
            want = np.array(want)
            # recorded by torch in float32 when the file was written (as in test_artifact.py)
            np.testing.assert_allclose(result["predictions"][name][o], want, rtol=0,
                                       atol=1e-5 * np.abs(want).max(), err_msg=f"{name}: {o}")
    assert INSTALL_TRAIN in result["train_attribute"]
    assert result["list"]["status"] == 0
    assert re.search(r"^seeds:paraboloid\s", result["list"]["stdout"], re.M), result["list"]
    assert result["train"]["status"] == 2
    assert result["train"]["stderr"].startswith("surrogate train: needs ")
    assert INSTALL_TRAIN in result["train"]["stderr"], result["train"]


def _requirement_closure(names: set[str]) -> set[str]:
    """The distributions `names` need, transitively, as installed here (extras left out)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for r in importlib.metadata.requires(name) or []:
            req = Requirement(r)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(_name(r))
    return seen


#: Makes the units extra (pint) unimportable too: the plain install has neither extra, and with pint
#: present a declaration's units are checked by it (surrogate/declaration/units.py), as they should be.
BLOCK_UNITS = "sys.modules['pint'] = None\n"


def test_the_runtime_works_with_the_train_extra_unimportable():
    result = _run_lean_check(sys.executable, prelude=BLOCK_TRAIN + BLOCK_UNITS)
    _assert_lean_result(result)
    # every third-party module the runtime imported comes with a core dependency
    core = {_name(r) for r in _pyproject()["project"]["dependencies"]}
    allowed = _requirement_closure(core)
    owners = importlib.metadata.packages_distributions()
    # (modules no installed distribution owns -- Cython's runtime, sysconfig data -- are not pip's)
    imported = {m: {re.sub(r"[-_.]+", "-", d).lower() for d in owners[m]}
                for m in result["modules"] if m in owners and m not in ("surrogate", "equations")}
    assert {"numpy", "sympy", "safetensors"} <= set(imported), imported
    stray = {m: d for m, d in imported.items() if not d & allowed}
    assert not stray, f"the runtime imports {stray}, which the plain install does not bring ({sorted(core)})"


def test_torch_without_pandas_leaves_the_runtime_and_names_the_extra():
    code = ("import sys; sys.modules['pandas'] = None\n"
            "import surrogate, surrogate.runtime\n"
            "try:\n    surrogate.load\nexcept ImportError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert INSTALL_TRAIN in done.stdout


# -- names, hints, version, CI --------------------------------------------------------------------------
def test_every_install_hint_names_the_distribution():
    project = _pyproject()["project"]
    assert project["name"] == DISTRIBUTION != "surrogate"
    files = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("surrogate/*.py"), *ROOT.glob("equations/*.py"),
             *ROOT.glob("examples/*.py"), *ROOT.glob("bench/*.py")]
    stale = []
    for path in files:
        for i, line in enumerate(path.read_text().splitlines(), 1):
            # the bare name `surrogate` as something to install, with or without extras
            if re.search(r"pip install\s+['\"]?surrogate(?![\w-])|(?<![\w-])surrogate\[", line):
                stale.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not stale, "install hints that send users to the unrelated PyPI project `surrogate`:\n" + "\n".join(stale)
    named = re.findall(rf"(?:{DISTRIBUTION}|\.)\[([\w,]+)\]", INSTALL_TRAIN + (ROOT / "README.md").read_text())
    for extra in {e for group in named for e in group.split(",")}:
        assert extra in project["optional-dependencies"], f"the README or a message names a missing extra {extra!r}"


def test_the_version_has_one_source():
    project = _pyproject()
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "surrogate._version.__version__"}
    # a literal, so that setuptools reads it from the source without importing the package
    assert re.search(r'^__version__ = "[0-9][^"]*"$', (ROOT / "surrogate" / "_version.py").read_text(), re.M)
    import surrogate

    assert surrogate.__version__ == re.search(r'__version__ = "(.*)"', (ROOT / "surrogate" / "_version.py").read_text())[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"\*\*Install and run the tests\*\*.*?```bash\n(.*?)\n```", readme, re.S)
    assert block, "the README has no 'Install and run the tests' command"
    command = block.group(1).strip()
    assert '-m ""' in command and "-n auto" in command, 'CI runs both tiers (-m "" lifts the fast default) on all cores'
    assert "-m 'not slow'" in _pyproject()["tool"]["pytest"]["ini_options"]["addopts"], "the default is the fast tier"
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci, f".ci/run does not run the README's test command verbatim:\n{command}"


# -- the packaging tier: build, then install into fresh virtual environments -----------------------------
def packaging_tier(test):
    """Slow (so the default run leaves it out and CI's `-m ""` runs it) and `packaging` (so it can be run alone)."""
    return pytest.mark.slow(pytest.mark.packaging(test))


def _run(cmd, *, cwd: Path, env=None, timeout: float = 900) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (f"`{' '.join(map(str, cmd))}` exited with {done.returncode} (pip and build need the "
                                  f"package index):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def _copy_checkout(dst: Path) -> Path:
    """The checkout without build outputs, caches, virtual environments or git's data."""
    junk = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__",
                                  ".pytest_cache", ".hypothesis", "*.onnx")
    shutil.copytree(ROOT, dst, ignore=junk)
    return dst


def _build(source: Path, out: Path) -> tuple[Path, Path]:
    """`python -m build`: the sdist, then the wheel built from that sdist."""
    if importlib.util.find_spec("build") is None:
        pytest.fail("`python -m build` is not installed here; the test extra brings it: pip install -e '.[test]'")
    _run([sys.executable, "-m", "build", "--outdir", out, source], cwd=out)
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return wheels[0], sdists[0]


#: pip's options for installs into the fresh environments: no byte-compiling of what it installs
#: (torch's and sympy's thousands of modules: 27 s -> 9 s for torch alone on two cores); Python
#: compiles what a command imports when it imports it, so every check below runs the same code
PIP_INSTALL = ("-m", "pip", "install", "--quiet", "--no-compile")


def _fresh_venv(path: Path) -> tuple[Path, dict]:
    """(its python, an environment that reaches nothing of this checkout or this interpreter)."""
    _run([sys.executable, "-m", "venv", path], cwd=path.parent)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return path / "bin" / "python", env


def _outside(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT)
    return work


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    base = tmp_path_factory.mktemp("dist")
    (base / "out").mkdir()
    return _build(_copy_checkout(base / "src"), base / "out")


@packaging_tier
def test_the_wheel_holds_the_code_the_catalogue_the_licence_and_the_metadata(dist):
    wheel, sdist = dist
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        info = next(n.rsplit("/", 1)[0] for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(z.read(f"{info}/METADATA").decode())
        entry_points = z.read(f"{info}/entry_points.txt").decode()
    code = {p.relative_to(ROOT).as_posix() for pkg in ("surrogate", "equations") for p in (ROOT / pkg).rglob("*.py")}
    shipped = {p.relative_to(ROOT).as_posix() for pkg in ("surrogate", "equations")
               for p in (ROOT / pkg).rglob("*.surrogate")}
    assert code | shipped <= names, sorted((code | shipped) - names)
    assert f"{info}/licenses/LICENSE" in names
    # the FMU export's data: the FMI 2.0 headers (BSD-2, their notice beside them) and the wrapper's template
    fmi2 = {f"surrogate/model/fmi2/{f}" for f in ("fmi2Functions.h", "fmi2FunctionTypes.h", "fmi2TypesPlatform.h",
                                                 "wrapper.c.in", "LICENSE.txt")}
    assert fmi2 | {f"{info}/licenses/surrogate/model/fmi2/LICENSE.txt"} <= names
    assert not any(n.startswith("tests/") for n in names)
    assert re.search(r"^surrogate = surrogate\.interface\.cli:main$", entry_points, re.M)
    assert meta["Name"] == DISTRIBUTION and meta["Version"] == surrogate.__version__
    assert meta["License-Expression"] == "MIT"
    requires = [Requirement(r) for r in meta.get_all("Requires-Dist")]
    plain = {_name(str(r)) for r in requires if r.marker is None}
    train = {_name(str(r)) for r in requires if r.marker is not None and r.marker.evaluate({"extra": "train"})}
    assert not plain & TRAIN_DISTRIBUTIONS, f"the plain install brings {plain & TRAIN_DISTRIBUTIONS}"
    assert TRAIN_DISTRIBUTIONS <= train
    assert sdist.name.startswith(DISTRIBUTION.replace("-", "_") + "-")


@packaging_tier
def test_artifacts_under_the_packages_ship_as_package_data(tmp_path):
    source = _copy_checkout(tmp_path / "src")
    probes = ["surrogate/catalogue/probe.surrogate", "equations/trained/probe.surrogate"]
    for probe in probes:
        (source / probe).parent.mkdir(parents=True, exist_ok=True)
        (source / probe).write_bytes(b"not a real artifact: the build copies it as it is")
    (tmp_path / "out").mkdir()
    wheel, _ = _build(source, tmp_path / "out")
    with zipfile.ZipFile(wheel) as z:
        assert set(probes) <= set(z.namelist())


@packaging_tier
def test_the_wheel_with_the_train_extra_lists_trains_and_predicts_outside_the_checkout(dist, tmp_path):
    import torch

    wheel, _ = dist
    python, env = _fresh_venv(tmp_path / "venv")
    work = _outside(tmp_path)
    # this interpreter's torch first: an unpinned one may pull gigabytes of CUDA packages
    _run([python, *PIP_INSTALL, f"torch=={torch.__version__.split('+')[0]}"], cwd=work, env=env)
    _run([python, *PIP_INSTALL, f"{wheel}[train]"], cwd=work, env=env)
    cli = python.parent / "surrogate"
    listed = _run([cli, "list"], cwd=work, env=env).stdout
    assert re.search(r"^seeds:paraboloid\s", listed, re.M) and re.search(r"^implicit:colebrook\s", listed, re.M)
    trained = _run([cli, "train", "seeds:paraboloid", "--max-steps", "50", "--points", "2000", "--atol", "1e-2",
                    "-q", "-o", "p.surrogate"], cwd=work, env=env, timeout=600)
    assert "saved p.surrogate" in trained.stdout and (work / "p.surrogate").is_file()
    probe = ("import json, equations, surrogate, surrogate.runtime\n"
             "m = surrogate.runtime.load('p.surrogate')\n"
             "print(json.dumps({'surrogate': surrogate.__file__, 'equations': equations.__file__,\n"
             "                  'version': surrogate.__version__, 'z': m(x=[0.5], y=[0.5])['z'].tolist()}))")
    info = json.loads(_run([python, "-c", probe], cwd=work, env=env).stdout)
    for module in ("surrogate", "equations"):
        assert Path(info[module]).resolve().is_relative_to((tmp_path / "venv").resolve()), info
    assert info["version"] == surrogate.__version__
    assert len(info["z"]) == 1 and np.isfinite(info["z"][0])


@packaging_tier
def test_the_plain_install_predicts_from_saved_artifacts_without_the_train_extra(dist, tmp_path):
    wheel, _ = dist
    python, env = _fresh_venv(tmp_path / "venv")
    work = _outside(tmp_path)
    _run([python, *PIP_INSTALL, wheel], cwd=work, env=env)
    found = _run([python, "-c", f"import importlib.util as u; print(*[m for m in {TRAIN_MODULES!r} if u.find_spec(m)])"],
                 cwd=work, env=env).stdout.split()
    assert found == [], f"the plain install brought {found}"
    result = _run_lean_check(str(python), cwd=work, env=env)
    assert Path(result["file"]).resolve().is_relative_to((tmp_path / "venv").resolve()), result["file"]
    _assert_lean_result(result)
    # the console script, as a user meets it
    done = subprocess.run([python.parent / "surrogate", "train", "seeds:paraboloid"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and INSTALL_TRAIN in done.stderr and "Traceback" not in done.stderr, done.stderr
