"""`surrogate build`: a user's own module of relations (tests/data/my_relations.py) built on a
local two-worker Dask cluster and in local processes, with tiny step budgets: the artifacts, their
certificates and build records, the index and the datasheets; a rerun skips them; a changed
declaration rebuilds only itself and is named stale; a failure or a Ctrl-C loses nothing that
finished; a bad module errors at once, naming the fix.  The slow tier rebuilds one shipped
relation with its catalogue budget and compares it with the shipped artifact."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import surrogate as sg
from surrogate.interface.build import executor, parse_cluster, run_tasks
from surrogate.interface.cli import main
from surrogate.persistence import shipped
from surrogate.persistence.library import BuildError
from surrogate.training import loop

FIXTURE = Path(__file__).parent / "data" / "my_relations.py"
NAMES = ["square", "ratio", "exp_decay", "product", "cube"]
#: tiny budgets: what is tested is the build, not the accuracy
FAST = ["--steps", "30", "--method", "adam", "--points", "2000", "-q"]


def _weights(path: Path) -> dict:
    return load_file(str(path))


@pytest.fixture(scope="module")
def dask_lib(tmp_path_factory):
    """The fixture module built on a local two-worker Dask cluster, with datasheets."""
    out = tmp_path_factory.mktemp("dask") / "lib"
    t = time.perf_counter()
    rc = main(["build", str(FIXTURE), "-o", str(out), *FAST, "--cluster", "local:2"])
    print(f"the five-relation Dask build: {time.perf_counter() - t:.1f} s wall")
    assert rc == 0
    return out


def test_a_dask_build_writes_five_certified_artifacts_an_index_and_datasheets(dask_lib):
    assert sorted(p.stem for p in dask_lib.glob("*.surrogate")) == sorted(NAMES)  # left_out is not in __all__
    index = json.loads((dask_lib / "catalogue.json").read_text())["relations"]
    assert sorted(index) == sorted(NAMES)
    for name in NAMES:
        model = sg.load(dask_lib / f"{name}.surrogate")
        rec = model.info["build"]
        assert model.certificate is not None and model.certificate.points == 2000
        assert index[name]["max_error"] == model.certificate.max_error
        assert rec["torch_threads"] == 1 and rec["method"] == "adam" and rec["module"] == str(FIXTURE.resolve())
        assert (rec["budget_steps"], rec["seed"]) == ((40, 1) if name == "cube" else (30, 0))  # cube's BUILD entry
        assert rec["fingerprint"] == shipped.fingerprint(model.relation)
        page = (dask_lib / "docs" / name / "README.md").read_text()
        assert f"{model.certificate.max_error:.3g}" in page
    page = (dask_lib / "docs" / "index.md").read_text()
    assert all(f"[{n}]({n}/README.md)" in page for n in NAMES)


def test_a_rerun_skips_every_up_to_date_relation(dask_lib, capsys, monkeypatch):
    monkeypatch.setattr(loop, "train", lambda *a, **k: pytest.fail("an up-to-date relation was trained again"))
    before = {n: (dask_lib / f"{n}.surrogate").stat().st_mtime_ns for n in NAMES}
    assert main(["build", str(FIXTURE), "-o", str(dask_lib), *FAST, "--cluster", "local:2"]) == 0
    out = capsys.readouterr().out
    assert f"up to date, skipped: {', '.join(NAMES)}" in out and "built 0, skipped 5" in out
    assert before == {n: (dask_lib / f"{n}.surrogate").stat().st_mtime_ns for n in NAMES}


def test_local_processes_give_the_dask_build_bit_for_bit(dask_lib, tmp_path):
    out = tmp_path / "lib"
    assert main(["build", str(FIXTURE), "-o", str(out), *FAST, "--jobs", "2", "--no-docs"]) == 0
    for name in NAMES:
        a, b = _weights(dask_lib / f"{name}.surrogate"), _weights(out / f"{name}.surrogate")
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a), name


def test_a_changed_declaration_rebuilds_only_itself_and_is_named_stale(dask_lib, tmp_path, capsys, monkeypatch):
    module = tmp_path / "my_relations.py"
    text = FIXTURE.read_text()
    changed = text.replace("bounds={x: (0.5, 1.5)}, name=\"cube\"", "bounds={x: (0.5, 1.6)}, name=\"cube\"")
    assert changed != text
    module.write_text(changed)
    lib = tmp_path / "lib"
    shutil.copytree(dask_lib, lib)
    before = {n: (lib / f"{n}.surrogate").read_bytes() for n in NAMES}
    assert main(["build", str(module), "-o", str(lib), *FAST, "--no-docs"]) == 0
    out = capsys.readouterr().out
    assert "cube" in out and "stale, rebuilding (its declaration changed" in out
    assert "stale (their declaration changed), rebuilt: cube" in out and "built 1, skipped 4" in out
    after = {n: (lib / f"{n}.surrogate").read_bytes() for n in NAMES}
    assert [n for n in NAMES if after[n] != before[n]] == ["cube"]
    assert float(sg.load(lib / "cube.surrogate").relation.bounds["x"][1]) == 1.6
    # --force rebuilds an up-to-date one; --docs-only writes pages (here into --docs) and trains nothing
    assert main(["build", str(module), "-o", str(lib), *FAST, "--no-docs", "--force", "--only", "square"]) == 0
    assert "built 1, skipped 0" in capsys.readouterr().out
    monkeypatch.setattr(loop, "train", lambda *a, **k: pytest.fail("--docs-only trained"))
    pages = tmp_path / "pages"
    assert main(["build", str(module), "-o", str(lib), *FAST, "--docs-only", "--only", "cube", "--docs", str(pages)]) == 0
    assert "1.6" in (pages / "cube" / "README.md").read_text() and (pages / "index.md").is_file()
    assert not (pages / "square").exists()


def _failing(name: str, exc: BaseException):
    real = loop.train

    def train(relation, **kw):
        if relation.name == name:
            raise exc
        return real(relation, **kw)

    return train


def test_a_relation_that_fails_loses_none_of_the_others(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(loop, "train", _failing("ratio", RuntimeError("no luck")))
    out = tmp_path / "lib"
    rc = main(["build", str(FIXTURE), "-o", str(out), *FAST, "--no-docs", "--only", "square", "--only", "ratio",
               "--only", "exp_decay"])
    assert rc == 1
    assert sorted(p.stem for p in out.glob("*.surrogate")) == ["exp_decay", "square"]
    assert sorted(json.loads((out / "catalogue.json").read_text())["relations"]) == ["exp_decay", "square"]
    captured = capsys.readouterr()
    assert "ratio" in captured.out and "FAILED: RuntimeError: no luck" in captured.out
    assert "failed: ratio" in captured.err


def _interrupted(name: str):
    """train as Ctrl-C leaves it for `name`: it returns the model so far, info["stop"] == "interrupted"."""
    real = loop.train

    def train(relation, **kw):
        model = real(relation, **kw)
        if relation.name == name:
            model.info["stop"] = "interrupted"
        return model

    return train


def test_ctrl_c_keeps_what_finished_saves_no_interrupted_model_and_a_rerun_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(loop, "train", _interrupted("ratio"))
    out = tmp_path / "lib"
    args = ["build", str(FIXTURE), "-o", str(out), *FAST, "--no-docs", "--only", "square", "--only", "ratio"]
    assert main(args) == 130
    assert [p.stem for p in out.glob("*.surrogate")] == ["square"]
    assert "rerun the same command to resume" in capsys.readouterr().err
    monkeypatch.undo()
    assert main(args) == 0
    assert "up to date, skipped: square" in capsys.readouterr().out
    assert sorted(p.stem for p in out.glob("*.surrogate")) == ["ratio", "square"]


def _refused(args: list[str], capsys, monkeypatch) -> str:
    monkeypatch.setattr(loop, "train", lambda *a, **k: pytest.fail("trained before refusing"))
    assert main(["build", *args]) == 2
    return capsys.readouterr().err


def test_a_bad_module_or_budget_is_refused_at_once_naming_the_fix(tmp_path, capsys, monkeypatch):
    err = _refused(["tests/data/no_such_file.py", "-o", str(tmp_path)], capsys, monkeypatch)
    assert "no file 'tests/data/no_such_file.py'" in err and "give the path of a Python file" in err
    err = _refused(["no_such_module_here", "-o", str(tmp_path)], capsys, monkeypatch)
    assert "no module 'no_such_module_here'" in err and "PYTHONPATH" in err
    head = FIXTURE.read_text().replace('BUILD = {"cube": {"steps": 40, "seed": 1}}', "")
    cases = {
        'BUILD = {"cub": {"steps": 40}}': "BUILD names 'cub', which it does not define as a Relation",
        'BUILD = {"cube": {"time_limit": 40}}': "a relation's build may set steps, seed, config",
        'BUILD = {"cube": {"steps": 0}}': "['steps'] must be a whole number >= 1",
        'BUILD = {"cube": {"config": {"widht": 3}}}': "cannot be used",
    }
    for i, (build, says) in enumerate(cases.items()):
        module = tmp_path / f"mine{i}.py"
        module.write_text(head + build + "\n")
        err = _refused([str(module), "-o", str(tmp_path / "lib")], capsys, monkeypatch)
        assert says in err, (build, err)
    (tmp_path / "empty.py").write_text("x = 1\n")
    err = _refused([str(tmp_path / "empty.py"), "-o", str(tmp_path / "lib")], capsys, monkeypatch)
    assert "defines no Relation at module level" in err
    (tmp_path / "again.py").write_text(FIXTURE.read_text())
    err = _refused([str(FIXTURE), str(tmp_path / "again.py"), "-o", str(tmp_path / "lib")], capsys, monkeypatch)
    assert "two relations are named 'square'" in err and "separate folders" in err
    err = _refused([str(FIXTURE), "-o", str(tmp_path / "lib"), "--only", "sqare"], capsys, monkeypatch)
    assert "--only sqare: no such relation here" in err
    err = _refused([str(FIXTURE), "-o", str(tmp_path / "lib"), "--cluster", "localhost:2"], capsys, monkeypatch)
    assert "neither local:N" in err and "tcp://host:8786" in err
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "matplotlib", None)  # not installed: the datasheets could not be drawn
        err = _refused([str(FIXTURE), "-o", str(tmp_path / "lib")], capsys, monkeypatch)
    assert "surrogate-formula[plot]" in err and "--no-docs" in err
    (tmp_path / "file").write_text("")
    err = _refused([str(FIXTURE), "-o", str(tmp_path / "file")], capsys, monkeypatch)
    assert "that is a file; give a folder" in err


def test_a_scheduler_address_runs_the_same_loop_and_workers_of_several_threads_are_refused():
    """`--cluster ADDRESS`: a scheduler with one-thread workers runs the tasks; one whose workers run two
    tasks at once is refused with the fix (two builds in one process would share torch's seed).  In-process
    workers (threads), so no process starts."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with executor(cluster=cluster.scheduler_address) as (ex, width):
            assert width == 2
            got = dict(run_tasks(ex, width, abs, [("a", -1), ("b", -2), ("c", "x")]))
            assert got["a"] == 1 and got["b"] == 2 and isinstance(got["c"], TypeError)  # a failure is a result
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        with pytest.raises(BuildError, match="--nthreads 1"):
            with executor(cluster=cluster.scheduler_address):
                pass


def test_the_cluster_argument():
    assert parse_cluster("local:3") == ("local", 3)
    assert parse_cluster("tcp://10.0.0.1:8786") == ("address", "tcp://10.0.0.1:8786")
    for bad in ("local:0", "local:two", "10.0.0.1:8786"):
        with pytest.raises(BuildError):
            parse_cluster(bad)


#: The cheapest shipped relation to train (its catalogue budget: 400 LM steps after Adam's warm-up; about
#: 70-100 CPU s).  Its shipped artifact was rebuilt with today's deterministic code (least-squares start by
#: gelsd, one torch thread), so a rebuild gives the same weights bit for bit.
CHEAPEST = "lmtd"
#: verification points of the rebuild: the weights, not the certificate, are compared (the shipped
#: certificate is a function of those weights; tests/test_shipped.py reproduces certificates from weights)
REBUILD_POINTS = "20000"


@pytest.mark.slow
def test_the_command_rebuilds_a_shipped_relation_bit_for_bit(tmp_path):
    """`surrogate build` on the shipped module, with the catalogue's budget (the command's default
    and the module's BUILD dict), gives the shipped artifact's weights bit for bit and the same plan in
    its build record: the shipped catalogue is what the command builds."""
    e = shipped.entry(CHEAPEST)
    assert main(["build", e.module, "--only", CHEAPEST, "-o", str(tmp_path), "--no-docs", "-q",
                 "--points", REBUILD_POINTS]) == 0
    new_path = tmp_path / f"{CHEAPEST}.surrogate"
    new, old = sg.load(new_path), sg.catalogue(CHEAPEST)
    keys = ("budget_steps", "seed", "config", "fingerprint", "method", "steps")
    assert {k: new.info["build"][k] for k in keys} == {k: old.info["build"][k] for k in keys}
    a, b = _weights(new_path), _weights(shipped.directory() / f"{CHEAPEST}.surrogate")
    assert a.keys() == b.keys()
    differ = [k for k in a if not np.array_equal(a[k], b[k])]
    assert not differ, (f"{CHEAPEST} rebuilt by the command differs from the shipped artifact in {differ}: "
                        f"rebuild the catalogue with {shipped.BUILD_COMMAND}")


def test_a_worker_refuses_a_declaration_other_than_the_one_planned(monkeypatch):
    """A worker imports the module itself; where its copy differs from the one the build planned (a
    changed file, a worker's older import) it says so instead of building another relation."""
    from surrogate.persistence.library import build_one

    monkeypatch.setattr(loop, "train", lambda *a, **k: pytest.fail("trained another declaration"))
    task = {"module": str(FIXTURE), "name": "square", "fingerprint": "0" * 64, "want": {}, "path": "unused"}
    with pytest.raises(BuildError, match="not the declaration the build was started with"):
        build_one(task)
