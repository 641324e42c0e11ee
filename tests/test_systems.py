"""The systems catalogue (equations/systems.py): each system declares, carries its source, and
the package's solve finds one root inside the declared ranges at its corners and at Sobol points.

bench/systems.py measures the same at 10^5 points (the figures the module's comments quote); this
is its cheap repeat: 256 points and the corners of each system, about 1 s in all.
"""

import os
import shutil

import numpy as np
import pytest
import torch

from equations import systems
from equations.radiation import grey_two_surface_exchange
from surrogate import Relation
from surrogate.declaration.sampling import corner_points
from surrogate.declaration.solve import SOLVED, solve
from surrogate.model.scaling import n_channels
from surrogate.training import lm
from surrogate.training.config import TrainConfig
from surrogate.training.loop import _specs

SYSTEMS = [getattr(systems, name) for name in systems.__all__]
#: Sobol points per system besides its corners (the looped pipes' four-equation loop costs ~0.1 ms a point).
POINTS = 256


def test_every_system_has_three_to_eight_inputs_units_and_its_source():
    assert len(SYSTEMS) >= 6
    assert set(systems.SOURCES) == set(systems.__all__)
    for rel in SYSTEMS:
        assert isinstance(rel, Relation) and not rel.is_explicit
        assert rel.name in systems.__all__ and getattr(systems, rel.name) is rel
        assert 3 <= len(rel.inputs) <= 8, rel.name
        assert set(rel.units) == set(rel.inputs) | set(rel.outputs), f"{rel.name}: a symbol without units"
        for field in ("source", "validity", "accuracy"):
            assert systems.SOURCES[rel.name][field].strip(), f"{rel.name} has no {field}"
    assert sum(len(rel.equations) >= 2 for rel in SYSTEMS) >= len(SYSTEMS) - 1  # mostly chains, not one equation


@pytest.mark.parametrize("relation", SYSTEMS, ids=lambda r: r.name)
def test_every_point_has_its_root_inside_the_declared_ranges(relation):
    x = np.vstack([corner_points(relation), relation.domain.sobol(POINTS, seed=5).numpy()])
    got = solve(relation, x)
    assert (got.status == SOLVED).all(), f"{relation.name}: {got.counts()} at {x[got.status != SOLVED][:3]}"
    for j, o in enumerate(relation.outputs):
        lo, hi = relation.output_ranges[o]
        assert (got.values[:, j] > lo).all() and (got.values[:, j] < hi).all(), o
    # the root satisfies every equation to rounding, measured against its term scale
    values = {n: x[:, j] for j, n in enumerate(relation.inputs)}
    values.update({o: got.values[:, j] for j, o in enumerate(relation.outputs)})
    for i in range(len(relation.equations)):
        r = relation.compiled("residual", i, "numpy")(values)
        scale = relation.compiled("residual_scale", i, "numpy")(values)
        assert np.all(np.abs(r) <= 1e-12 * scale), f"{relation.name}, equation {i}"


# -- the saving on the datasheet (issue 23, item 3: bench/saving.py --write) -----------------------------
FIGURES = {"batches": [1, 1000], "ways": {"surrogate, NumPy f64": [30000.0, 180.4], "package solve": [2.0e6, 12000.0]},
           "reference": "the package's solve", "best": "surrogate, NumPy f64", "speedup": 66.5,
           "note": "Measured on a test's machine."}


def test_the_datasheet_shows_the_cost_per_point_while_the_artifact_is_the_one_measured(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from surrogate.interface.report import write_report
    from surrogate.persistence import shipped

    folder = tmp_path / "artifacts"
    folder.mkdir()
    artifact = folder / "haaland.surrogate"
    shutil.copy(shipped.directory() / "haaland.surrogate", artifact)
    monkeypatch.setattr(shipped, "directory", lambda: folder)
    e = shipped.entry("haaland")
    assert e.path == artifact and shipped.costs(e) is None  # nothing measured yet: no table (write_report's `if`)

    assert shipped.record_costs(e, FIGURES) == folder / shipped.COSTS
    assert shipped.costs(e)["ways"] == FIGURES["ways"]
    page = write_report("haaland", tmp_path / "page", format="md", points=64).read_text()
    assert "## Cost per point" in page
    assert "| way | batch 1 | batch 1,000 |" in page
    assert "| surrogate, NumPy f64 | 30,000 | 180 |" in page and "| package solve | 2,000,000 | 12,000 |" in page
    assert "is 66x faster per point than the package's solve" in page and "Measured on a test's machine." in page

    # a build rewrites a datasheet older than the figures it shows (interface/build.py)
    from surrogate.interface.build import _page_old

    page_file = tmp_path / "docs" / "haaland" / "README.md"
    page_file.parent.mkdir(parents=True)
    page_file.write_text(page)
    costs = folder / shipped.COSTS
    stamp = artifact.stat().st_mtime
    os.utime(page_file, (stamp + 10, stamp + 10))
    os.utime(costs, (stamp + 20, stamp + 20))
    assert _page_old(e, tmp_path / "docs")
    os.utime(costs, (stamp + 5, stamp + 5))
    assert not _page_old(e, tmp_path / "docs")

    artifact.write_bytes(artifact.read_bytes() + b"\n")  # another file under the same name
    assert shipped.costs(e) is None  # the figures were of the file measured, not of this one


@pytest.mark.parametrize("relation", SYSTEMS + [grey_two_surface_exchange], ids=lambda r: r.name)
def test_the_defaults_train_every_system_by_levenberg_marquardt(relation):
    # issue 23: declared the natural way, a system or relation of four to eight inputs trains with the
    # defaults alone -- method="auto" must pick LM (the method that reaches 1e-4 and below) under a time
    # limit: up to lm.AUTO_INPUTS inputs (the grey exchange has six) and lm.AUTO_PARAMETERS parameters
    # with the structure features (the three reservoirs: 996)
    feats, heads = _specs(relation, TrainConfig(), 0)
    assert lm.use_lm(relation, TrainConfig(), len(feats), n_channels(heads), torch.device("cpu"), time_limit=60.0)
