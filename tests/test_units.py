"""Units per symbol (issue 19, item 2): declared, checked, saved, shown, and used to convert pint Quantities.

Nothing here trains: the models are shipped artifacts (pump_pipe_operating_point: lengths in m and a
flow in m^3/s; grey_two_surface_exchange: temperatures in K) and a golden file re-declared with units.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import surrogate as sg
from surrogate import runtime
from surrogate.declaration.display import unit_label, unit_latex, unit_text
from surrogate.errors import DomainError, UnitError
from surrogate.model import format as fmt
from surrogate.model.surrogate import Surrogate
from surrogate.persistence import shipped

pint = pytest.importorskip("pint")

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "paraboloid_silu.surrogate"  # written before units existed
#: a registry of the user's own, not pint's application registry that declarations are checked with
UREG = pint.UnitRegistry()
Q = UREG.Quantity

h, D, Re, Nu, k = sp.symbols("h D Re Nu k")
FILM = sp.Eq(h, Nu * k / D)
FILM_BOUNDS = {Nu: (1, 100), k: (0.01, 1), D: (0.01, 0.1)}

PUMP = "pump_pipe_operating_point"
PUMP_POINT = {"H0": 50.0, "L": 1000.0, "D": 0.15, "k_s": 5e-5}  # all in m


@pytest.fixture(scope="module")
def pump():
    return sg.load(PUMP)


@pytest.fixture(scope="module")
def pump_runtime():
    return runtime.load(PUMP)


@pytest.fixture(scope="module")
def paraboloid():
    """The golden paraboloid re-declared with units for x and z only (y has none)."""
    old = sg.load(GOLDEN)
    rel = old.relation
    declared = sg.Relation(list(rel.equations), bounds=rel.bounds, units={"x": "m", "z": "m^2"}, name="paraboloid")
    return Surrogate(declared, old.module.feature_specs, old.module.head_specs, old.module.net)


# -- the declaration ------------------------------------------------------------------------------
def test_units_are_kept_as_written_by_symbol_or_name_in_the_relations_order():
    rel = sg.Relation(FILM, bounds=FILM_BOUNDS, units={h: "W/(m^2*K)", "D": "m", Nu: "", k: "W/(m*K)"})
    assert rel.units == {"Nu": "", "k": "W/(m*K)", "D": "m", "h": "W/(m^2*K)"}
    assert list(rel.units) == ["Nu", "k", "D", "h"]  # inputs, then outputs
    assert sg.Relation(FILM, bounds=FILM_BOUNDS).units == {}  # no units: none
    assert sg.Relation(FILM, bounds=FILM_BOUNDS, units={D: "m"}).units == {"D": "m"}  # per symbol
    rel.units["D"] = "cm"  # a copy
    assert rel.units["D"] == "m"


def test_bad_units_are_refused_at_declaration_each_named_with_the_fix():
    with pytest.raises(sg.RelationError) as err:
        sg.Relation(FILM, bounds=FILM_BOUNDS, units={Re: "", D: 3.0, k: "W/(mtr*K)", "nothing": "m"})
    assert len(err.value.problems) == 4, err.value.problems
    text = str(err.value)
    assert "units given for Re, which is not a symbol of the relation" in text
    assert "units given for 'nothing'" in text
    assert "the unit of D is 3.0 (float), not a string" in text
    assert "the unit of k is 'W/(mtr*K)', which pint cannot read as a unit" in text and "'mtr'" in text
    assert "or '' for a dimensionless D" in text  # the fix
    assert isinstance(err.value, ValueError)
    with pytest.raises(sg.RelationError, match="units must be a mapping"):
        sg.Relation(FILM, bounds=FILM_BOUNDS, units=["m"])


def test_without_pint_unit_strings_are_kept_and_shown_unchecked(monkeypatch):
    monkeypatch.setitem(sys.modules, "pint", None)  # as where the units extra is not installed
    rel = sg.Relation(FILM, bounds=FILM_BOUNDS, units={D: "furlongs-ish", h: "W/(m^2*K)"})
    assert rel.units == {"D": "furlongs-ish", "h": "W/(m^2*K)"}
    assert "0.01 <= D <= 0.1  [furlongs-ish]" in str(rel)
    with pytest.raises(sg.RelationError, match="not a string"):  # what needs no pint is still checked
        sg.Relation(FILM, bounds=FILM_BOUNDS, units={D: 1})


def test_substitute_keeps_the_units_of_the_symbols_it_keeps():
    a, x, y = sp.symbols("a x y")
    rel = sg.Relation(sp.Eq(y, a * x), bounds={x: (1, 2)}, parameters={a: (0, 5)}, units={x: "s", y: "m", a: "m/s"})
    assert rel.substitute({"a": 2.0}).units == {"x": "s", "y": "m"}


# -- the file -------------------------------------------------------------------------------------
def test_units_round_trip_through_the_file_for_torch_and_the_runtime(paraboloid, tmp_path):
    path = tmp_path / "p.surrogate"
    paraboloid.save(path)
    manifest, _ = fmt.read(path)
    assert manifest["relation"]["units"] == {"x": "m", "z": "m^2"}
    assert sg.load(path).units == {"x": "m", "z": "m^2"}
    assert runtime.load(path).units == {"x": "m", "z": "m^2"}
    assert sg.load(GOLDEN).units == {} and runtime.load(GOLDEN).units == {}  # a file from before units


def test_a_file_with_malformed_units_is_refused(paraboloid, tmp_path):
    path = tmp_path / "p.surrogate"
    paraboloid.save(path)
    manifest, tensors = fmt.read(path)
    for bad in ({"x": 1}, ["m"], {"nobody": "m"}):
        fmt.write(path, {**manifest, "relation": {**manifest["relation"], "units": bad}}, tensors, schema=2)
        with pytest.raises(sg.ArtifactError, match="units"):
            runtime.load(path)


def test_shipped_artifacts_carry_their_declarations_units_and_stay_current():
    assert sg.load("gnielinski").units == {"Re": "", "Pr": "", "Nu": ""}
    assert runtime.load("convection:gnielinski").units == {"Re": "", "Pr": "", "Nu": ""}
    assert runtime.load("grey_two_surface_exchange").units["T_1"] == "K"
    for e in shipped.entries():
        st = shipped.status(e)
        assert st.ok, st.message
        assert st.manifest["relation"].get("units", {}) == e.relation.units, \
            f"{e.name}: the artifact's units differ from its declaration's; run python bench/catalogue_units.py"


def test_units_do_not_change_the_fingerprint():
    plain = sg.Relation(FILM, bounds=FILM_BOUNDS)
    united = sg.Relation(FILM, bounds=FILM_BOUNDS, units={D: "m", h: "W/(m^2*K)"})
    assert shipped.fingerprint(plain) == shipped.fingerprint(united)
    other = sg.Relation(FILM, bounds={**FILM_BOUNDS, D: (0.01, 0.2)}, units={D: "m"})
    assert shipped.fingerprint(other) != shipped.fingerprint(united)


# -- prediction -----------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["pump", "pump_runtime"])
def test_quantities_are_converted_to_the_declared_units_and_outputs_come_back_as_quantities(which, request):
    model = request.getfixturevalue(which)
    plain = model(**PUMP_POINT)
    assert all(type(v) is float for v in plain.values())  # plain numbers in, plain numbers out
    got = model(H0=Q(50, "m"), L=Q(1, "km"), D=Q(15, "cm"), k_s=Q(0.05, "mm"))
    assert got["Q"].units == UREG.Unit("m^3/s") and got["f"].units == UREG.Unit("dimensionless")
    assert got["Q"].magnitude == pytest.approx(plain["Q"], rel=1e-12)
    assert got["f"].magnitude == pytest.approx(plain["f"], rel=1e-12)
    mixed = model(H0=50.0, L=1000.0, D=Q(np.array([15.0, 20.0]), "cm"), k_s=5e-5)  # plain: the declared unit
    assert mixed["Q"].units == UREG.Unit("m^3/s") and mixed["Q"].magnitude.shape == (2,)
    assert mixed["Q"].magnitude[0] == pytest.approx(plain["Q"], rel=1e-12)


def test_an_offset_unit_is_converted_as_pint_converts_it():
    model = runtime.load("grey_two_surface_exchange")
    point = {"eps_1": 0.5, "eps_2": 0.5, "F_12": 1.0, "A_12": 1.0}
    kelvin = model(T_1=600.0, T_2=300.0, **point)["q_1"]
    celsius = model(T_1=Q(326.85, "degC"), T_2=Q(300, "K"), **point)["q_1"]
    assert celsius.units == UREG.Unit("W/m^2") and celsius.magnitude == pytest.approx(kelvin, rel=1e-9)


@pytest.mark.parametrize("which", ["pump", "pump_runtime"])
def test_a_quantity_of_the_wrong_dimension_is_refused_naming_the_input_and_both_units(which, request):
    model = request.getfixturevalue(which)
    with pytest.raises(UnitError) as err:
        model(**{**PUMP_POINT, "D": Q(0.15, "kg")})
    msg = str(err.value)
    assert "input D is given in kg ([mass])" in msg and "declared unit 'm' ([length])" in msg
    assert isinstance(err.value, DomainError) and sg.UnitError is UnitError  # refused as any bad input is
    with pytest.raises(DomainError, match="unknown Dd"):  # a misspelt name is named as such, quantity or not
        model(**{k: v for k, v in PUMP_POINT.items() if k != "D"}, Dd=Q(0.15, "m"))


def test_a_quantity_of_the_wrong_dimension_for_a_dimensionless_input_is_refused():
    model = runtime.load("gnielinski")
    with pytest.raises(UnitError, match=r"input Re is given in m \(\[length\]\), which does not convert to its "
                                        r"declared unit dimensionless; give Re as a plain number"):
        model(Re=Q(1e5, "m"), Pr=7.0)
    assert model(Re=Q(1e5, ""), Pr=7.0)["Nu"].magnitude == pytest.approx(model(Re=1e5, Pr=7.0)["Nu"], rel=1e-12)


def test_a_quantity_for_an_input_without_a_unit_is_refused_saying_to_declare_one(paraboloid):
    with pytest.raises(UnitError, match=r"input y was given as a quantity in m, but the relation declares no unit "
                                        r"for y; declare it, Relation\(\.\.\., units=\{y: '\.\.\.'\}\)"):
        paraboloid(x=0.5, y=Q(0.5, "m"))
    got = paraboloid(x=Q(50, "cm"), y=0.5)  # x has a unit: converted; z comes back in m^2
    assert got["z"].units == UREG.Unit("m^2")
    assert got["z"].magnitude == pytest.approx(paraboloid(x=0.5, y=0.5)["z"], rel=1e-12)


def test_predict_keeps_the_column_names_and_gives_the_units_in_attrs(pump, pump_runtime):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({k: [v] for k, v in PUMP_POINT.items()})
    for model in (pump, pump_runtime):
        out = model.predict(df)
        assert list(out.columns) == ["Q", "f"]
        assert out.attrs["units"] == {"Q": "m^3/s", "f": ""}
    assert sg.load(GOLDEN).predict(pd.DataFrame({"x": [0.5], "y": [0.5]})).attrs["units"] == {}


# -- what is shown --------------------------------------------------------------------------------
def test_the_unit_texts():
    assert unit_latex("W/(m^2*K)") == r"\mathrm{W/(m^{2}\,K)}"
    assert unit_latex("m**3/s") == r"\mathrm{m^{3}/s}"
    assert unit_latex("") == "" and unit_latex("1") == "" and unit_latex(None) == ""
    assert unit_label("D", "m") == "D [m]" and unit_label("Re", "") == "Re" and unit_label("x", None) == "x"
    assert unit_text("") == "dimensionless" and unit_text("1") == "dimensionless" and unit_text(None) == ""


def test_the_relation_and_the_models_show_their_units(pump, pump_runtime):
    rel = pump.relation
    lines = str(rel).splitlines()
    assert "  0.05 <= D <= 0.3  [m]" in lines and "  0.0003 <= Q <= 0.2  [m^3/s]  (output)" in lines
    assert "  dimensionless: f" in lines
    tex = rel._repr_latex_()
    assert r"0.05 \le D &\le 0.3\ \mathrm{m}" in tex and r"\le 0.2\ \mathrm{m^{3}/s} && \text{(output)}" in tex
    for model in (pump, pump_runtime):
        md = model._repr_markdown_()
        assert "| input | low | high | scale | unit |" in md and "| $D$ | 0.05 | 0.3 | linear | m |" in md
        assert "| output | unit |" in md and "| $Q$ | m^3/s |" in md and "| $f$ | dimensionless |" in md
    film = sg.Relation(FILM, bounds=FILM_BOUNDS, units={h: "W/(m^2*K)"})
    assert r"h & \text{in } \mathrm{W/(m^{2}\,K)} && \text{(output)}" in film._repr_latex_()
    assert "  h  [W/(m^2*K)]  (output)" in str(film).splitlines()
    bare = sg.load(GOLDEN)._repr_markdown_()  # no units: the table as before
    assert "| input | low | high | scale |\n" in bare and "unit" not in bare


def test_surrogate_list_shows_the_units(capsys):
    from surrogate.interface.cli import main

    assert main(["list", "--shipped"]) == 0
    out = capsys.readouterr().out
    assert "    inputs     20 <= H0 <= 80 m, 50 <= L <= 2000 m, 0.05 <= D <= 0.3 m, 1.5e-06 <= k_s <= 0.00026 m\n" in out
    assert "    outputs    Q m^3/s, f (dimensionless)\n" in out
    assert "3000 <= Re <= 5e+06 (dimensionless)" in out


def test_surrogate_predict_names_the_units_in_its_header_when_asked(tmp_path, capsys):
    from surrogate.interface.cli import main

    csv = tmp_path / "in.csv"
    csv.write_text("H0,L,D,k_s\n50,1000,0.15,5e-5\n")
    assert main(["predict", PUMP, str(csv)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "Q,f"  # the names as before
    assert main(["predict", PUMP, str(csv), "--units", "--with-inputs"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "H0,L,D,k_s,Q [m^3/s],f"


def test_plot_axes_carry_the_units():
    pytest.importorskip("matplotlib")
    from surrogate.interface.plot import plot_error

    model = runtime.load("lmtd")  # dT1, dT2 in K
    fig = plot_error(model, points=256, resolution=9)
    labels = {ax.get_xlabel() for ax in fig.axes} | {ax.get_ylabel() for ax in fig.axes}
    assert {"dT1 [K] (log)", "dT2 [K] (log)"} <= labels, labels
    fig = plot_error(runtime.load("haaland"), points=256, resolution=9)  # dimensionless: the names alone
    labels = {ax.get_xlabel() for ax in fig.axes} | {ax.get_ylabel() for ax in fig.axes}
    assert {"Re (log)", "eps_D (log)"} <= labels, labels


def test_the_report_lists_the_units(tmp_path):
    pytest.importorskip("matplotlib")
    from surrogate.interface.report import write_report

    page = write_report(sg.load("lmtd"), tmp_path, format="md", points=256)
    text = page.read_text()
    assert "| input | low | high | range over the domain | scale | unit |" in text
    assert "| dT1 | 1 | 100 | 1 .. 100 | log | K |" in text
    assert "| output | declared range | unit |" in text and "| dT_lm |  | K |" in text

