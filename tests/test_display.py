"""How relations, models, certificates and proofs show themselves (issue 19): in Jupyter
(`_repr_latex_`, `_repr_markdown_`), in a terminal (`str`, a short `repr`) and in the report,
all through one typesetting (`surrogate.declaration.display`).  No training: the models are
the shipped artifacts."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import sympy as sp

import surrogate as sg
from surrogate.declaration.display import latex, number_latex, relation_latex, symbol_latex, text, unit_text
from surrogate.model import runtime
from surrogate.model.records import Certificate, Proof

ARTIFACTS = Path(__file__).resolve().parents[1] / "equations" / "artifacts"

Nu, Re_D, Pr = sp.symbols("Nu Re_D Pr")
DITTUS = sg.Relation(sp.Eq(Nu, 0.023 * Re_D**0.8 * Pr**0.4), bounds={Re_D: (1e4, 1.2e5), Pr: (0.6, 160)},
                     name="dittus")


# -- names ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, tex", [
    ("Nu", r"\mathrm{Nu}"), ("Re_D", r"\mathrm{Re}_{D}"), ("Pr", r"\mathrm{Pr}"),
    ("T_inf", r"T_{\mathrm{inf}}"), ("T_∞", r"T_{\infty}"), ("T_s_in", r"T_{s,\mathrm{in}}"),
    ("x1", "x_{1}"), ("dT1", r"\mathrm{dT}_{1}"), ("f", "f"), ("eps_D", r"\mathrm{eps}_{D}"),
    ("alpha", r"\alpha"), ("mu_ratio", r"\mu_{\mathrm{ratio}}"), ("lamda", r"\lambda"), ("Delta", r"\Delta"),
    ("Mu", r"\mathrm{Mu}"), ("r_o/r_i", r"\mathrm{r\_o/r\_i}"), ("a b", r"\mathrm{a\ b}"),
])
def test_symbol_names_come_out_as_written(name, tex):
    assert symbol_latex(name) == tex


def test_a_relation_with_nu_re_d_and_pr_is_typeset_as_written():
    eq = latex(DITTUS.equations[0], DITTUS.symbols.values())
    assert eq == r"\mathrm{Nu} = 0.023 \mathrm{Pr}^{0.4} \mathrm{Re}_{D}^{0.8}"
    assert r"\nu" not in eq and r"\mathrm{N}" not in eq.replace(r"\mathrm{Nu}", "")
    assert sp.latex(DITTUS.equations[0]).startswith(r"\mathrm{N} =")  # what SymPy alone prints


def test_relation_latex_is_the_equations_then_each_input_with_its_bounds():
    tex = DITTUS._repr_latex_()
    assert tex.startswith("$$") and tex.endswith("$$")
    body = tex.strip("$")
    assert body == relation_latex(DITTUS)
    lines = [ln.strip() for ln in body.split("\n")[1:-1]]
    lines = [ln.removesuffix(r"\\").strip() for ln in lines]
    assert lines[0] == r"\mathrm{Nu} &= 0.023 \mathrm{Pr}^{0.4} \mathrm{Re}_{D}^{0.8}"
    bounds = [re.fullmatch(r"(.+) \\le (.+) &\\le (.+)", ln).groups() for ln in lines[1:]]
    assert bounds == [("10000", r"\mathrm{Re}_{D}", "120000"), ("0.6", r"\mathrm{Pr}", "160")]


def test_implicit_relation_lists_its_output_range_and_dependent_bounds_typeset():
    from equations.implicit import colebrook

    x1, x2 = sp.symbols("x1 x2")
    rel = sg.Relation(sp.Eq(sp.Symbol("y"), x1 - x2), bounds={x1: (2, 10), x2: (1, x1)})
    assert r"1 \le x_{2} &\le x_{1}" in rel._repr_latex_()
    assert r"0.005 \le f &\le 0.1 && \text{(output)}" in colebrook._repr_latex_()
    assert r"4000 \le \mathrm{Re} &\le 10^{8}" in colebrook._repr_latex_()
    assert [number_latex(v) for v in (1e8, 2.5e-5, -1e-6, 0.05)] == ["10^{8}", r"2.5 \cdot 10^{-5}", "-10^{-6}", "0.05"]


def test_relation_prints_several_lines_in_a_terminal():
    from equations.implicit import colebrook

    assert str(colebrook).splitlines() == [
        "colebrook (implicit (the outputs come from a numeric solve))",
        "  1/sqrt(f) = -2*log10(0.27027027027027*eps + 2.51/(Re*sqrt(f)))",
        "  4000 <= Re <= 1e8",
        "  1e-6 <= eps <= 0.05",
        "  0.005 <= f <= 0.1  (output)",
        "  dimensionless: Re, eps, f",  # its declared units (tests/test_units.py)
    ]
    assert repr(colebrook).startswith("Relation('colebrook': ")


# -- log10 ------------------------------------------------------------------------------------------
def test_colebrook_and_haaland_print_log10_without_changing_the_expression():
    from equations.implicit import colebrook
    from equations.pipe_flow import haaland

    before = [sp.srepr(e) for r in (colebrook, haaland) for e in r.equations]
    cole = latex(colebrook.equations[0], colebrook.symbols.values())
    assert cole == (r"\frac{1}{\sqrt{f}} = - 2 \log_{10}{\left(0.27027027027027 \mathrm{eps} + "
                    r"\frac{2.51}{\mathrm{Re} \sqrt{f}} \right)}")
    haal = latex(haaland.equations[0], haaland.symbols.values())
    assert haal == (r"f = \frac{0.308641975308642}{\log_{10}{\left(0.234043231705236 \mathrm{eps}_{D}^{1.11} + "
                    r"\frac{6.9}{\mathrm{Re}} \right)}^{2}}")
    for tex in (cole, haal, colebrook._repr_latex_(), haaland._repr_latex_()):
        assert r"\log_{10}" in tex and r"\log{\left(10" not in tex and r"\ln{\left(10" not in tex
    assert [sp.srepr(e) for r in (colebrook, haaland) for e in r.equations] == before
    assert sp.log(10) in colebrook.equations[0].rhs.atoms(sp.log)  # still SymPy's form
    assert text(haaland.equations[0]).startswith("f = 0.308641975308642/log10(")


def test_log10_only_where_the_log10_factors_cancel():
    a, b = sp.symbols("a b", positive=True)
    assert latex(sp.log(a) * sp.log(b) / sp.log(10) ** 2) == \
        r"\log_{10}{\left(a \right)} \log_{10}{\left(b \right)}"
    assert latex(sp.log(a, 10) + 1) == r"\log_{10}{\left(a \right)} + 1"
    partial = latex(sp.log(a) ** 2 / sp.log(10))  # log10(a) * ln(a): left as SymPy has it
    assert r"\log_{10}" not in partial and r"\ln{\left(10 \right)}" in partial
    assert latex(sp.log(a)) == r"\ln{\left(a \right)}"  # the natural log, as engineers write it


# -- models ---------------------------------------------------------------------------------------
def _tables(md: str) -> list[list[list[str]]]:
    """Every Markdown table of `md` as rows of cells (the header first, the rule dropped)."""
    tables, cur = [], None
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            if all(re.fullmatch(r"-+", c) for c in cells):
                continue
            cur = cur if cur is not None else []
            cur.append(cells)
        elif cur is not None:
            tables.append(cur)
            cur = None
    return tables


def _table(md: str, header: str) -> dict[str, list[str]]:
    for t in _tables(md):
        if t[0][0] == header:
            return {row[0]: row[1:] for row in t[1:]}
    raise AssertionError(f"no table headed {header!r} in\n{md}")


def _facts(md: str) -> dict[str, str]:
    return {k: v[0] for t in _tables(md) if t[0][0] == "" for k, v in {r[0]: r[1:] for r in t[1:]}.items()}


MODELS = [
    ("haaland", sg.load, "Surrogate"),
    ("haaland", runtime.load, "Runtime"),
    ("hilpert_cylinder", sg.load, "PiecewiseSurrogate"),
    ("hilpert_cylinder", runtime.load, "PiecewiseRuntime"),
]


@pytest.mark.parametrize("name, load, kind", MODELS, ids=[m[2] for m in MODELS])
def test_models_show_their_relation_inputs_network_and_max_error(name, load, kind):
    model = load(ARTIFACTS / f"{name}.surrogate")
    assert type(model).__name__ == kind
    rel, cert = model.relation, model.certificate
    md = model._repr_markdown_()
    assert md.splitlines()[0].startswith(f"**{kind}** of {name}: ")
    assert f"$${relation_latex(rel)}$$" in md
    inputs = _table(md, "input")
    assert list(inputs) == [f"${symbol_latex(n)}$" for n in rel.inputs]
    for spec, (low, high, scale, *unit) in zip(rel.domain.inputs, inputs.values()):
        assert (float(low), float(high), scale) == (pytest.approx(spec.range[0]), pytest.approx(spec.range[1]),
                                                    spec.scale)
        assert unit == ([unit_text(rel.units.get(spec.name))] if rel.units else [])  # the shipped units
    facts = _facts(md)
    found = re.match(r"max error (\S+) \(p99 (\S+), mean (\S+); ([\d,]+) points\)", facts["certificate"])
    assert [float(v) for v in found.groups()[:3]] == [
        pytest.approx(v, rel=5e-3) for v in (cert.max_error, cert.p99_error, cert.mean_error)]
    assert int(found.group(4).replace(",", "")) == cert.points
    nets = getattr(model, "networks", None) or [r for r in getattr(model, "runtimes", [model])]
    net = nets[0]
    cfg = net.module.net.config if hasattr(net, "module") else net.network
    assert f"{cfg['depth']} hidden layers of {cfg['width']} ({cfg['activation']}" in facts["network"]
    if kind.startswith("Piecewise"):
        assert facts["network"].startswith(f"{len(rel.pieces)} pieces: ")
        pieces = _table(md, "piece")
        assert [int(k) for k in pieces] == [p.number for p in rel.pieces]
        for p, (cond, _model, err) in zip(cert.pieces, pieces.values()):
            assert cond == p["condition"] and float(err) == pytest.approx(p["max_error"], rel=5e-3)
    assert str(cert.max_error)[:4] in repr(model) or f"{cert.max_error:.3g}" in repr(model)


# -- certificates and proofs ----------------------------------------------------------------------
def test_certificate_markdown_has_max_p99_mean_and_the_worst_point():
    cert = runtime.load(ARTIFACTS / "hilpert_cylinder.surrogate").certificate
    md = cert._repr_markdown_()
    rows = _table(md, "output")
    assert [float(v) for v in rows["all"]] == [pytest.approx(v, rel=5e-4) for v in
                                              (cert.max_error, cert.p99_error, cert.mean_error)]
    per = cert.per_output["Nu"]
    assert [float(v) for v in rows[r"$\mathrm{Nu}$"]] == [pytest.approx(per[k], rel=5e-4) for k in
                                                          ("max", "p99", "mean")]
    worst = _facts(md)["worst point"]
    inputs, outs = cert.worst_point()
    assert set(inputs) == {"Re", "Pr"} and set(outs) == {"Nu"}
    for k, v in inputs.items():
        got = re.search(re.escape(f"${symbol_latex(k)}$ = ") + r"(\S+?)[,:]", worst).group(1)
        assert float(got) == pytest.approx(v, rel=1e-8)
    pred, ref = re.search(r"\$\\mathrm\{Nu\}\$ = (\S+) \(reference (\S+)\)", worst).groups()
    assert (float(pred), float(ref)) == (pytest.approx(outs["Nu"][0]), pytest.approx(outs["Nu"][1]))
    pieces = _table(md, "piece")
    assert len(pieces) == len(cert.pieces) == 5
    assert max(float(v[1]) for v in pieces.values()) == pytest.approx(cert.max_error, rel=5e-4)


PROOF = Proof(bound=2.5e-5, lower=2.1e-5, within=1.5, status="proven", boxes=12345, seconds=3.25, atol=0.0,
              worst_box={"Re": [4000.0, 4100.0], "eps_D": [0.04, 0.05]})


def test_certificate_and_proof_reprs_are_short():
    cert = runtime.load(ARTIFACTS / "haaland.surrogate").certificate
    assert len(repr(cert)) < 300 and len(str(cert)) > 300  # str keeps the full account
    assert repr(cert) == (f"Certificate(haaland (f): max {cert.max_error:.3g}, p99 {cert.p99_error:.3g}, "
                          f"mean {cert.mean_error:.3g}; {cert.points:,} points)")
    d = cert.to_dict()
    long = Certificate.from_dict({**d, "relation": "r" * 200, "outputs": [f"output_{i}" for i in range(40)],
                                  "proof": PROOF.to_dict()})
    assert len(repr(long)) < 300 and "proven <= 2.5e-05" in repr(long)
    assert repr(PROOF) == "Proof(bound 2.5e-05, found 2.1e-05, proven; 12,345 boxes, 3.2 s)"
    assert len(repr(PROOF)) < 300


def test_proof_markdown_has_its_bound_and_status():
    md = PROOF._repr_markdown_()
    facts = _facts(md)
    assert float(re.match(r"≤ (\S+) ", facts["proven max error"]).group(1)) == 2.5e-5
    assert float(facts["largest error found"]) == 2.1e-5
    assert facts["status"].startswith("proven: within 1.5x")
    assert facts["effort"] == "12,345 boxes, 3.2 s"
    assert r"$\mathrm{Re}$ in [4000, 4100]" in facts["worst box"]
    cert = runtime.load(ARTIFACTS / "haaland.surrogate").certificate
    proven = Certificate.from_dict({**cert.to_dict(), "proof": PROOF.to_dict()})
    assert md in proven._repr_markdown_()


# -- the report ---------------------------------------------------------------------------------------
def test_report_typesets_names_and_log10(tmp_path):
    pytest.importorskip("matplotlib")
    from surrogate.interface.report import write_report

    page = write_report(ARTIFACTS / "haaland.surrogate", tmp_path, format="md", points=256)
    md = page.read_text()
    rel = sg.load(ARTIFACTS / "haaland.surrogate").relation
    assert f"LaTeX: {latex(rel.equations[0], rel.symbols.values())}" in md
    assert r"\log_{10}" in md and r"\mathrm{eps}_{D}" in md and r"\log{\left(10" not in md
    assert (tmp_path / "equation-1.png").exists()  # mathtext typesets it


def test_implicit_certificate_shows_its_residual_and_both_outputs():
    cert = runtime.load(ARTIFACTS / "pump_pipe_operating_point.surrogate").certificate
    md = cert._repr_markdown_()
    rows = _table(md, "output")
    assert list(rows) == ["$Q$", "$f$", "all"]
    residual = dict(re.findall(r"(\w+) (\S+?)(?:,|$)", _facts(md)["residual"]))
    assert float(residual["max"]) == pytest.approx(cert.residual["max"], rel=5e-4)
    worst = _facts(md)["worst point"]
    assert re.search(r"\$k_\{s\}\$ = \S+", worst) and re.search(r"\$f\$ = \S+ \(reference \S+\)", worst)


def test_surrogate_list_prints_equations_as_text_with_log10(capsys):
    from surrogate.interface.cli import main

    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    cole = next(ln for ln in lines if ln.startswith("implicit:colebrook"))
    assert cole.split(None, 1)[1] == "1/sqrt(f) = -2*log10(0.27027027027027*eps + 2.51/(Re*sqrt(f)))"
    assert not any("Eq(" in ln or "/log(10)" in ln for ln in lines)


def test_an_unresolved_proof_and_a_domain_read_as_a_person_writes_them():
    """An unresolved proof has no finite bound: its summary says so instead of "infx"; a domain's
    bounds print as numbers (0.1, 1e+12), not SymPy's 0.100000000000000."""
    from surrogate.model.records import Proof

    p = Proof(bound=math.inf, lower=1e-4, within=2.0, status="unresolved", boxes=12, seconds=0.3, atol=0.0)
    text = p.summary()
    assert "infx" not in text and "no finite bound" in text and "1e-04" in text.replace("0.0001", "1e-04")
    dom = repr(sg.catalogue("churchill_chu_vertical_plate").relation.domain)
    assert "0.1 <= Ra <= 1e+12" in dom and "0000000" not in dom
