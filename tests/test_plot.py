"""Error maps, training curves and the report: the figures' contents, inspected as objects (not pixels)."""

import re
import sys

import numpy as np
import pytest
import sympy as sp

import surrogate as sg
from surrogate.checking.score import point_errors
from surrogate.declaration.display import latex
from surrogate.interface.cli import main
from surrogate.interface.plot import PlotDependencyError, plot_error, plot_training
from surrogate.interface.report import write_report

pytest.importorskip("matplotlib")

CFG = sg.TrainConfig(check_every=25)  # a validation row every 25 steps: tiny trainings still have a history

x, y = sp.symbols("x y", positive=True)
EXP = sg.Relation(sp.Eq(y, sp.exp(x) * x), bounds={x: (0.1, 10)}, name="xexp")  # one log-scaled input
#: Implicit, with a root outside the declared output range for x < 0.25: the solver cannot settle there.
ROOT = sg.Relation(sp.Eq(y**2, x), bounds={x: (0.01, 4)}, outputs={y: (0.5, 2.5)}, name="root")


def _trained(rel, steps, points, atol=0.0):
    model = sg.train(rel, max_steps=steps, progress=False, config=CFG, atol=atol)
    model.certificate = sg.verify(model, points=points, atol=atol)
    return model


@pytest.fixture(scope="module")
def one():
    return _trained(EXP, 100, 1024)


@pytest.fixture(scope="module")
def five():
    from equations.seeds import seed001

    return _trained(seed001, 300, 4096)


@pytest.fixture(scope="module")
def cole():
    from equations.implicit import colebrook

    return _trained(colebrook, 50, 1024)


@pytest.fixture(scope="module")
def root():
    return _trained(ROOT, 50, 1024)


def artists(fig, gid):
    return [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]


def axes(fig, gid):
    found = [ax for ax in fig.axes if ax.get_gid() == gid]
    assert len(found) == 1, f"{gid}: {[ax.get_gid() for ax in fig.axes]}"
    return found[0]


def marked_at(ax, gid, xy):
    """The points of the markers with this gid on ax include xy (to 1e-9 relative)."""
    for line in ax.get_lines():
        if line.get_gid() == gid:
            pts = np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float)
            if np.any(np.all(np.isclose(pts, np.asarray(xy, dtype=float), rtol=1e-9, atol=0.0), axis=1)):
                return True
    return False


def test_one_input_error_against_the_input_on_its_log_axis(one):
    cert = one.certificate
    fig = plot_error(one, tolerance=0.01)
    ax = axes(fig, "error:x")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel().startswith("x")
    line = next(a for a in ax.get_lines() if a.get_gid() == "error")
    assert len(line.get_xdata()) > 2000 and np.nanmax(line.get_ydata()) <= cert.max_error * (1 + 1e-9)
    limit = next(a for a in ax.get_lines() if a.get_gid() == "certificate max")
    assert np.allclose(limit.get_ydata(), cert.max_error)
    assert any(a.get_gid() == "tolerance" and np.allclose(a.get_ydata(), 0.01) for a in ax.get_lines())
    err, _ = point_errors(one, np.array([[cert.worst["x"]]]), atol=cert.atol)
    assert marked_at(ax, "worst", (cert.worst["x"], err[0, 0]))
    assert "xexp" in fig._suptitle.get_text()
    assert not fig.subfigs  # no edges and one input: no side column


def test_plot_error_draws_the_certificate_it_is_given(one):
    import dataclasses

    moved = dataclasses.replace(one.certificate, worst={**one.certificate.worst, "x": 2.0}, max_error=0.5)
    ax = axes(plot_error(one, certificate=moved, points=256), "error:x")
    assert any(a.get_gid() == "certificate max" and np.allclose(a.get_ydata(), 0.5) for a in ax.get_lines())
    star = next(a for a in ax.get_lines() if a.get_gid() == "worst")
    assert np.allclose(star.get_xdata(), 2.0)


def test_without_a_certificate_the_sample_worst_is_marked(one):
    import copy

    bare = copy.copy(one)
    bare.certificate = None
    fig = plot_error(bare, atol=0.0)
    ax = axes(fig, "error:x")
    line = next(a for a in ax.get_lines() if a.get_gid() == "error")
    star = next(a for a in ax.get_lines() if a.get_gid() == "worst")
    i = int(np.nanargmax(line.get_ydata()))
    assert np.allclose(star.get_xdata(), line.get_xdata()[i]) and "plotted sample" in star.get_label()
    assert not artists(fig, "certificate max")


def test_two_inputs_heat_map_with_log_axes_worst_point_and_tolerance_contour(cole):
    cert = cole.certificate
    fig = plot_error(cole, points=1024)
    ax = axes(fig, "map:Re:eps")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel().startswith("Re") and ax.get_ylabel().startswith("eps")
    assert marked_at(ax, "worst", (cert.worst["Re"], cert.worst["eps"]))
    assert not artists(fig, "tolerance")  # none asked for
    values = np.ma.masked_invalid(next(a for a in ax.collections if a.get_gid() == "error map").get_array())
    assert values.shape == (201, 201) and values.count() == values.size  # a rectangle: nothing outside
    tol = float(np.ma.median(values))
    fig = plot_error(cole, tolerance=tol, points=1024)
    (contour,) = artists(fig, "tolerance")
    assert list(contour.levels) == [tol]
    assert "bracketed Newton" in fig._suptitle.get_text()  # the error is against the solve


def test_five_inputs_slice_grid_through_the_worst_point(five):
    cert = five.certificate
    dom = five.relation.domain
    fig = plot_error(five, points=4096, tolerance=0.1)
    names = dom.names
    maps = [ax for ax in fig.axes if (ax.get_gid() or "").startswith("map:")]
    assert len(maps) == 10
    for i in range(5):
        for j in range(i + 1, 5):
            ax = axes(fig, f"map:{names[i]}:{names[j]}")
            assert ax.get_xscale() == dom.inputs[i].scale and ax.get_yscale() == dom.inputs[j].scale
            assert marked_at(ax, "worst", (cert.worst[names[i]], cert.worst[names[j]]))
    assert axes(fig, "map:x1:x5").get_xlabel().startswith("x1") and axes(fig, "map:x1:x5").get_ylabel().startswith("x5")
    # x2 <= x1: the (x1, x2) slice is grey (masked) exactly where x2 > x1
    mesh = next(a for a in axes(fig, "map:x1:x2").collections if a.get_gid() == "error map")
    xy = mesh.get_coordinates()
    cx = 0.5 * (xy[0, :-1, 0] + xy[0, 1:, 0])
    cy = np.sqrt(xy[:-1, 0, 1] * xy[1:, 0, 1])
    outside = np.ma.getmaskarray(np.ma.masked_invalid(mesh.get_array()))
    assert outside.any() and np.array_equal(outside, cy[:, None] > cx[None, :])
    # the distribution over the dense sample, with the certificate's max
    dist = axes(fig, "distribution")
    assert dist.get_xscale() == "log" and any(p.get_gid() == "distribution" for p in dist.patches)
    limit = next(a for a in dist.get_lines() if a.get_gid() == "certificate max")
    assert np.allclose(limit.get_xdata(), cert.max_error)
    assert "4,096 points" in dist.get_title()
    # x2's layer at x1: the error against the relative distance (x1 - x2) / (x1 - 1), worst point on it
    edge = axes(fig, "edge:x2")
    assert edge.get_xscale() == "log" and "(x1 - x2)/(x1 - 1)" in edge.get_xlabel()
    w = [cert.worst[n] for n in names]
    gap = (w[0] - w[1]) / (w[0] - 1)
    star = next(a for a in edge.get_lines() if a.get_gid() == "worst")
    if gap > 0:  # 0 (x2 == x1 in float64) is drawn at the left end of the axis
        assert star.get_xdata()[0] == pytest.approx(gap, rel=1e-6)


def test_implicit_points_the_solver_cannot_settle_are_marked_not_hidden(root):
    cert = root.certificate
    assert cert.unsolved["counts"]["no_root"] > 0
    fig = plot_error(root, points=1024)
    ax = axes(fig, "error:x")
    (marks,) = [a for a in ax.get_lines() if a.get_gid() == "undefined"]
    xs = np.asarray(marks.get_xdata())
    # the root sqrt(x) leaves the declared range (0.5, 2.5) below x = 0.25, and only there
    assert xs.size > 100 and xs.max() < 0.25 and xs.min() < 0.02
    assert "could not settle" in marks.get_label()
    line = next(a for a in ax.get_lines() if a.get_gid() == "error")
    defined = np.isfinite(line.get_ydata())
    assert not defined[np.asarray(line.get_xdata()) < 0.2].any() and defined[np.asarray(line.get_xdata()) > 0.3].all()


def test_output_must_be_one_of_the_models(one):
    with pytest.raises(ValueError, match="not one of the model's outputs: y"):
        plot_error(one, output="z")


HISTORY = {
    "steps": 700, "seconds": 9.0, "stop": "time_limit", "restarts": 1, "validation": {"max": 0.03, "mean": 0.005},
    "history": [[100, 1.0, 0, 0.9, 0.6], [200, 2.0, 0, 0.9, 0.6], [300, 3.0, 1, 0.5, 0.1], [400, 4.0, 1, 0.05, 0.01],
                [500, 5.0, 1, 0.03, 0.005], [600, 6.0, 1, 0.04, 0.006]],
}


def test_training_curves_mark_restarts_and_the_model_kept():
    fig = plot_training(HISTORY)
    steps_ax, seconds_ax = fig.axes
    assert steps_ax.get_xlabel() == "steps" and seconds_ax.get_xlabel() == "seconds"
    assert steps_ax.get_yscale() == "log"
    (restart,) = [a for a in steps_ax.get_lines() if a.get_gid() == "restart"]
    assert np.allclose(restart.get_xdata(), 200)  # the check that found attempt 0 collapsed
    assert marked_at(steps_ax, "kept", (500, 0.03))  # the best check of the last attempt
    maxes = [a for a in steps_ax.get_lines() if a.get_gid() == "validation max"]
    assert len(maxes) == 2 and list(maxes[1].get_xdata()) == [300, 400, 500, 600]  # one curve per attempt


def test_training_curve_of_a_saved_model(one, tmp_path):
    one.save(tmp_path / "one.surrogate")
    info = sg.load(tmp_path / "one.surrogate").info
    assert isinstance(info["history"][0], list)  # tuples become lists in the artifact
    ax = plot_training(info).axes[0]
    (kept,) = [a for a in ax.get_lines() if a.get_gid() == "kept"]
    assert np.allclose(kept.get_ydata(), info["validation"]["max"])
    with pytest.raises(sg.SurrogateError, match="no training history"):
        plot_training({**info, "history": []})


def test_missing_matplotlib_names_the_install(one, monkeypatch, tmp_path, capsys):
    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'surrogate-formula\[plot\]'") as e:
        plot_error(one)
    assert isinstance(e.value, (PlotDependencyError, sg.SurrogateError))
    with pytest.raises(PlotDependencyError):
        plot_training(HISTORY)
    one.save(tmp_path / "one.surrogate")
    assert main(["verify", str(tmp_path / "one.surrogate"), "--points", "64", "--plot", str(tmp_path / "e.png")]) == 2
    assert "pip install 'surrogate-formula[plot]'" in capsys.readouterr().err
    assert not (tmp_path / "e.png").exists()


@pytest.mark.parametrize("fmt, page", [("html", "index.html"), ("md", "README.md")])
def test_report_page_links_only_files_it_wrote(five, tmp_path, fmt, page):
    five.save(tmp_path / "s1.surrogate")
    out = tmp_path / "report"
    written = write_report(tmp_path / "s1.surrogate", out, format=fmt, points=2048)
    assert written == out / page
    text = written.read_text()
    if fmt == "html":
        links = re.findall(r'(?:src|href)="([^"]*)"', text)
        assert "<script" not in text and "http" not in text
    else:
        links = re.findall(r"\]\(([^)]*)\)", text)
    files = {p.name for p in out.iterdir()}
    assert set(links) == files - {page} and files == {page, "equation-1.png", "error-map.png", "training.png"}
    path = tmp_path / "s1.surrogate"  # the page loads the file by the path it was given
    for part in (latex(five.relation.equations[0]), "x2", "1 .. 1000", f"sg.load(\"{path}\")",
                 "model.predict(df)", f"surrogate predict {path} in.csv", f"runtime.load(\"{path}\")"):
        assert part in text or __import__("html").escape(part) in text, part
    assert f"{five.certificate.max_error:.4g}" in text


def test_cli_verify_plot_and_report(one, tmp_path, capsys):
    path = tmp_path / "one.surrogate"
    one.save(path)
    assert main(["verify", str(path), "--points", "256", "--plot", str(tmp_path / "e.png")]) == 0
    out = capsys.readouterr().out
    assert "certificate for xexp" in out and f"wrote the error map to {tmp_path / 'e.png'}" in out
    assert (tmp_path / "e.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["report", str(path), "--points", "256"]) == 0
    assert (tmp_path / "one-report" / "index.html").exists()
    assert main(["report", str(path), "--points", "8"]) == 2
    assert "--points must be at least 16" in capsys.readouterr().err


def _loads(text: str) -> list[str]:
    """What the page's examples load: the arguments of sg.load(...) and runtime.load(...)."""
    import ast

    return [ast.literal_eval(a) for a in re.findall(r"(?:sg|runtime)\.load\((\"[^\"]*\")\)", text.replace("&quot;", '"'))]


def test_the_report_of_a_shipped_surrogate_loads_it_by_name_and_shows_its_source(tmp_path, capsys):
    # `surrogate report gnielinski` told the reader sg.load("gnielinski.surrogate"), which fails, and left
    # out what the catalogue's datasheet shows: the source, its validity, the correlation's own accuracy
    from equations.convection import SOURCES

    assert main(["report", "convection:gnielinski", "-o", str(tmp_path / "g"), "--points", "256"]) == 0
    text = (tmp_path / "g" / "index.html").read_text()
    loads = _loads(text)
    assert loads == ["convection:gnielinski", "convection:gnielinski"], loads
    for name in loads:  # what the page says, run
        assert sg.load(name).relation.name == "gnielinski"
    assert "surrogate predict convection:gnielinski in.csv" in text
    import html

    for key in ("source", "validity", "accuracy"):
        assert html.escape(SOURCES["gnielinski"][key]) in text, key
    assert "reproduces the correlation, not the physics" in text


def test_the_report_of_a_file_loads_it_by_its_path(one, tmp_path):
    path = tmp_path / "one.surrogate"
    one.save(path)
    text = write_report(str(path), tmp_path / "r", points=256).read_text()
    assert _loads(text) == [str(path), str(path)]
    assert sg.load(_loads(text)[0]).relation.name == "xexp"
    assert "Source and validity" not in text  # not a shipped relation: nothing to cite


def test_report_of_an_uncertified_model_in_memory(one, tmp_path):
    import copy

    bare = copy.copy(one)
    bare.certificate = None
    page = write_report(bare, tmp_path, points=256)
    text = page.read_text()
    assert "carries no certificate" in text and 'sg.load(&quot;xexp.surrogate&quot;)' in text
    assert set(re.findall(r'src="([^"]*)"', text)) == {p.name for p in tmp_path.iterdir()} - {"index.html"}
    with pytest.raises(ValueError, match="format must be one of html, md"):
        write_report(one, tmp_path, format="pdf")


def test_the_map_of_a_dependent_bound_scores_no_point_outside_the_domain():
    """Churchill-Bernstein's Re runs from 0.2/Pr to 1e7: a slack of 1e-9 of that range admitted Re 0.01
    below a bound of 8e-4, and the shipped datasheet's map showed errors of 0.17 there (issue 19)."""
    from surrogate.interface.plot import _grid_points

    model = sg.load("churchill_bernstein")
    dom = model.relation.domain
    through = dom.chart(np.full((1, dom.dim), 0.5))[0]
    x, inside, _, _ = _grid_points(dom, 0, 1, 64, through)
    lows, _ = dom.bounds(x[inside])
    re_low = np.asarray(lows[1], dtype=np.float64)
    # inside means inside, to rounding of the bound itself
    assert np.all(x[inside, 1] >= re_low * (1 - 1e-9)), "the map scores points below Re = 0.2/Pr"
    # and the map's colour scale is the model's error, not extrapolation's: it reaches at most the
    # certificate's max (the map's points are inside the domain the certificate covers; 2x for the
    # search's own rounding of a max it may not have met exactly)
    fig = plot_error(model, points=4096)
    tops = [c.norm.vmax for ax in fig.axes for c in ax.collections if getattr(c.norm, "vmax", None) is not None]
    assert tops and max(tops) <= 2 * model.certificate.max_error, (max(tops), model.certificate.max_error)


def test_the_error_map_title_fits_the_figure():
    # the title (the name and the error's definition) ran off both edges of the figure: Churchill-Chu's
    # by 146 pixels each side of a 700-pixel figure (a 2-input map without side panels is 7 in wide);
    # measured as drawn, every line of it and of the longest title the catalogue makes lies inside
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from surrogate import runtime
    from surrogate.persistence import shipped

    def title(e):
        c = runtime.load(e.name).certificate
        return len(f"{e.name}: error, {c.error}" + (f", atol {c.atol:g}" if c.atol else ""))

    longest = max(shipped.entries(), key=title).name
    for name in ("churchill_chu_vertical_plate", longest):
        fig = plot_error(sg.load(name), points=256)
        FigureCanvasAgg(fig).draw()
        box, page = fig._suptitle.get_window_extent(), fig.bbox  # the Text that fig.suptitle made
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, (name, box, page)
