"""The catalogue's relations give the values their sources give.

Each relation is checked two ways: at published points (a textbook worked example or
table, or the documented example of an independent library, with the tolerance that
the published digits allow), and against an implementation written here with NumPy
and SciPy from the equation as the source prints it, at quasi-random points of the
domain.  Implicit relations are solved here with scipy.optimize.brentq and compared
with the package's solver.

Tolerances:
- `SAME_FORMULA` (1e-10, relative) for two float64 evaluations of one formula in a
  different order of operations: they agree to a few ulps times the formula's
  condition number; 1e-10 allows conditioning up to about 1e5, while a wrong
  constant in its third significant digit shows at 1e-3.
- published values to n significant digits: half a unit in the last digit.
"""

import importlib
import itertools
import math

import numpy as np
import pytest
from scipy import optimize, special

import equations
from equations import conduction, convection, exchangers, external, pipe_flow, radiation, systems
from surrogate import Relation

SAME_FORMULA = 1e-10
SIGMA = 5.670374419e-8
FIELD_MODULES = (convection, external, conduction, exchangers, radiation, pipe_flow, systems)


def value(rel, **inputs):
    """The relation's float64 reference for its single output at the given inputs."""
    out = rel.evaluate({k: np.atleast_1d(np.asarray(v, dtype=np.float64)) for k, v in inputs.items()})
    (y,) = out.values()
    return y


def points(rel, n=256):
    """n quasi-random points of the relation's domain, as {input: array}."""
    x = rel.domain.sobol(n, seed=7)
    x = np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=np.float64)
    return {name: x[:, j] for j, name in enumerate(rel.inputs)}


def assert_same_formula(rel, reference, n=256):
    """rel agrees with `reference(**inputs)` at n points of its domain to SAME_FORMULA."""
    x = points(rel, n)
    np.testing.assert_allclose(value(rel, **x), reference(**x), rtol=SAME_FORMULA, atol=0)


# -- the declarations themselves --------------------------------------------------------------------


def test_every_field_module_is_in_the_catalogue():
    for module in FIELD_MODULES:
        assert module.__name__ in equations.MODULES


@pytest.mark.parametrize("module", FIELD_MODULES, ids=lambda m: m.__name__)
def test_every_relation_has_its_source_validity_and_accuracy(module):
    assert set(module.SOURCES) == set(module.__all__)
    for name in module.__all__:
        rel = getattr(module, name)
        assert isinstance(rel, Relation)
        assert rel.name == name
        for field in ("source", "validity", "accuracy"):
            assert module.SOURCES[name][field].strip(), f"{name} has no {field}"


def test_names_are_unique_across_the_catalogue():
    names = []
    for mod_name in equations.MODULES:
        module = importlib.import_module(mod_name)
        names += [getattr(module, n).name for n in module.__all__ if isinstance(getattr(module, n), Relation)]
    assert len(names) == len(set(names))


# -- convection inside tubes and natural convection -------------------------------------------------


def test_dittus_boelter_published_points():
    # ht 1.2 (C. Bell), turbulent_Dittus_Boelter docstring: Re = 1e5, Pr = 1.2, 17 digits
    assert value(convection.dittus_boelter_heating, Re=1e5, Pr=1.2)[0] == pytest.approx(247.40036409449127, rel=1e-12)
    assert value(convection.dittus_boelter_cooling, Re=1e5, Pr=1.2)[0] == pytest.approx(242.9305927410295, rel=1e-12)


@pytest.mark.parametrize("rel, n", [(convection.dittus_boelter_heating, 0.4), (convection.dittus_boelter_cooling, 0.3)],
                         ids=["heating", "cooling"])
def test_dittus_boelter_formula(rel, n):
    assert_same_formula(rel, lambda Re, Pr: 0.023 * Re**0.8 * Pr**n)


def test_sieder_tate_published_points():
    # ht 1.2 turbulent_Sieder_Tate docstring: without and with mu/mu_s = 0.01/0.067
    assert value(convection.sieder_tate, Re=1e5, Pr=1.2, mu_ratio=1.0)[0] == pytest.approx(286.9178136793052, rel=1e-12)
    assert value(convection.sieder_tate, Re=1e5, Pr=1.2, mu_ratio=0.01 / 0.067)[0] == pytest.approx(
        219.84016455766044, rel=1e-12)
    assert_same_formula(convection.sieder_tate, lambda Re, Pr, mu_ratio: 0.027 * Re**0.8 * Pr ** (1 / 3) * mu_ratio**0.14)


def _gnielinski(Re, Pr):
    f = (0.790 * np.log(Re) - 1.64) ** -2  # Petukhov, Incropera Eq. 8.21
    return (f / 8) * (Re - 1000) * Pr / (1 + 12.7 * np.sqrt(f / 8) * (Pr ** (2 / 3) - 1))  # Eq. 8.62


def test_gnielinski_with_petukhov():
    # ht 1.2 turbulent_Gnielinski(Re, Pr, fd) with fd = Petukhov's factor, evaluated with ht
    # 1.2.0 (an independent implementation of Eq. 8.62), at the corners of the range too
    for (Re, Pr), expected in [((1e5, 1.2), 247.88599552033045), ((1e4, 0.7), 29.8174118459253),
                               ((5e6, 2000), 164864.75184094041), ((3e3, 0.5), 8.82443286002403)]:
        assert value(convection.gnielinski, Re=Re, Pr=Pr)[0] == pytest.approx(expected, rel=1e-12)
    assert_same_formula(convection.gnielinski, _gnielinski)


def test_hausen_laminar_entry():
    # ht 1.2 laminar_entry_thermal_Hausen(Re=1e5, Pr=1.1, L=5, Di=0.5) docstring: Gz = 11 000;
    # the same Gz inside the laminar domain: Re = 2000, Pr = 55, L/D = 10
    assert value(convection.hausen_laminar_entry, Re=2000, Pr=55, L_D=10)[0] == pytest.approx(39.01352358988535, rel=1e-12)

    def hausen(Re, Pr, L_D):
        gz = Re * Pr / L_D
        return 3.66 + 0.0668 * gz / (1 + 0.04 * gz ** (2 / 3))

    assert_same_formula(convection.hausen_laminar_entry, hausen)
    # the fully developed limit 3.66 (Incropera Eq. 8.55) for a long tube: at Gz = 0.07 the
    # entry term 0.0668 Gz / (1 + 0.04 Gz^(2/3)) is below 0.005
    assert value(convection.hausen_laminar_entry, Re=100, Pr=0.7, L_D=1000)[0] == pytest.approx(3.66, abs=0.005)


def test_churchill_chu_vertical_plate():
    # Incropera, Example 9.2: Ra_L = 1.813e9 (Pr = 0.69, Gr = 2.63e9), Nu_L = 147 (3 digits)
    rel = convection.churchill_chu_vertical_plate
    assert value(rel, Ra=0.69 * 2.63e9, Pr=0.69)[0] == pytest.approx(147, abs=0.5)
    # ht 1.2 Nu_vertical_plate_Churchill(0.69, 2.63e9) docstring, 17 digits
    assert value(rel, Ra=0.69 * 2.63e9, Pr=0.69)[0] == pytest.approx(147.16185223770603, rel=1e-12)
    assert_same_formula(rel, lambda Ra, Pr: (0.825 + 0.387 * Ra ** (1 / 6) / (1 + (0.492 / Pr) ** (9 / 16)) ** (8 / 27)) ** 2)


# -- external flow ----------------------------------------------------------------------------------


def test_cylinder_in_cross_flow_worked_example():
    # Incropera's cylinder-in-cross-flow example (air, D = 12.7 mm, V = 10 m/s; Example 7.3 of
    # Bergman et al., Introduction to Heat Transfer, 6th ed., as ht cites it): Re_D = 6071 and
    # Pr = 0.70 at the film temperature give Nu_D = 37.3 (Hilpert) and 40.6 (Churchill-Bernstein)
    assert value(external.hilpert_cylinder, Re=6071, Pr=0.7)[0] == pytest.approx(37.3, abs=0.05)
    assert value(external.churchill_bernstein, Re=6071, Pr=0.7)[0] == pytest.approx(40.6, abs=0.05)
    # ht 1.2 Nu_cylinder_Churchill_Bernstein(6071, 0.7) docstring, 16 digits
    assert value(external.churchill_bernstein, Re=6071, Pr=0.7)[0] == pytest.approx(40.63708594124974, rel=1e-12)


def test_churchill_bernstein_formula_and_bound():
    rel = external.churchill_bernstein

    def cb(Re, Pr):
        return 0.3 + 0.62 * Re**0.5 * Pr ** (1 / 3) / (1 + (0.4 / Pr) ** (2 / 3)) ** 0.25 * (1 + (Re / 282000) ** (5 / 8)) ** 0.8

    assert_same_formula(rel, cb)
    x = points(rel, 4096)
    assert np.all(x["Re"] * x["Pr"] >= 0.2 * (1 - 1e-12))  # the source's Re Pr >= 0.2
    assert str(rel.bounds["Re"][0]) == str(0.2 / rel.symbols["Pr"])


def test_hilpert_table():
    # thermofluidcalc.com cylinder-in-cross-flow calculator (Hilpert, printed to 2 decimals,
    # Re to 5 digits: +-0.005 plus 0.618 * 2e-5 relative for Re's rounding)
    for Re, Pr, nu in [(2.5449e4, 0.71, 90.92), (1.5905e4, 0.71, 68.00), (2.8006e4, 6.13, 197.90)]:
        assert value(external.hilpert_cylinder, Re=Re, Pr=Pr)[0] == pytest.approx(nu, abs=0.005 + 2e-5 * nu)
    # Incropera Table 7.2, transcribed again here: (Re_D from, to, C, m)
    table = [(0.4, 4, 0.989, 0.330), (4, 40, 0.911, 0.385), (40, 4000, 0.683, 0.466),
             (4000, 40000, 0.193, 0.618), (40000, 400000, 0.027, 0.805)]
    for lo, hi, c, m in table:
        # across the band, up to a hair inside each of its edges
        Re = np.concatenate([[lo * (1 + 1e-9)], np.geomspace(lo, hi, 9)[1:-1], [hi * (1 - 1e-9)]])
        np.testing.assert_allclose(value(external.hilpert_cylinder, Re=Re, Pr=np.full_like(Re, 2.0)),
                                   c * Re**m * 2.0 ** (1 / 3), rtol=SAME_FORMULA)


def test_flat_plate_average():
    rel = external.flat_plate_average
    # ht 1.2 Nu_horizontal_plate_laminar_Baehr(1e5, 0.7) docstring (0.664 Re^1/2 Pr^1/3)
    assert value(rel, Re=1e5, Pr=0.7)[0] == pytest.approx(186.4378528752262, rel=1e-12)

    def plate(Re, Pr):
        return np.where(Re < 5e5, 0.664 * Re**0.5 * Pr ** (1 / 3), (0.037 * Re**0.8 - 871) * Pr ** (1 / 3))

    assert_same_formula(rel, plate)
    # the switch sits at Re_x,c = 5e5 on both sides
    below, above = value(rel, Re=[5e5 * (1 - 1e-9), 5e5], Pr=[1.0, 1.0])
    assert below == pytest.approx(0.664 * (5e5 * (1 - 1e-9)) ** 0.5, rel=SAME_FORMULA)
    assert above == pytest.approx(0.037 * 5e5**0.8 - 871, rel=SAME_FORMULA)


def test_ranz_marshall():
    # polykin (H. M. Vale) Nu_drop docstring: a 1 mm drop falling at 3.8 m/s in air (rho 1.2,
    # mu 1.6e-5, Pr 0.7) has Nu = 11.0 (one decimal: +-0.05)
    assert value(external.ranz_marshall, Re=1.2 * 3.8 * 1e-3 / 1.6e-5, Pr=0.7)[0] == pytest.approx(11.0, abs=0.05)
    assert value(external.ranz_marshall, Re=0.0, Pr=0.7)[0] == 2.0  # conduction into still fluid
    assert_same_formula(external.ranz_marshall, lambda Re, Pr: 2 + 0.6 * Re**0.5 * Pr ** (1 / 3))


# -- conduction and fins ----------------------------------------------------------------------------


def test_straight_fin_efficiency():
    rel = conduction.straight_fin_efficiency
    assert_same_formula(rel, lambda mL: np.tanh(mL) / mL)
    # the removable singularity: tanh(x)/x = 1 - x^2/3 + 2 x^4/15 - ..., 1 at x = 0
    small = np.array([0.0, 1e-8, 1e-3])
    np.testing.assert_allclose(value(rel, mL=small), 1 - small**2 / 3 + 2 * small**4 / 15, rtol=1e-15, atol=0)


def _annular(mL_c, r2c_r1):
    # Incropera Table 3.5 in r1 = 1: r2c = r2c_r1, m = mL_c / (r2c - r1)
    r1, r2c = 1.0, r2c_r1
    m = mL_c / (r2c - r1)
    c2 = (2 * r1 / m) / (r2c**2 - r1**2)
    num = special.k1(m * r1) * special.i1(m * r2c) - special.i1(m * r1) * special.k1(m * r2c)
    den = special.i0(m * r1) * special.k1(m * r2c) + special.k0(m * r1) * special.i1(m * r2c)
    return c2 * num / den


def test_annular_fin_efficiency():
    rel = conduction.annular_fin_efficiency
    # ht 1.2 fin_efficiency_Kern_Kraus(Do=0.0254, D_fin=0.05715, t_fin=3.8e-4, k_fin=200, h=58)
    # docstring (the same Bessel form, with the fin's outer radius for r2c), 12 digits
    m = math.sqrt(2 * 58 / (200 * 3.8e-4))
    r1, r2 = 0.0254 / 2, 0.05715 / 2
    assert value(rel, mL_c=m * (r2 - r1), r2c_r1=r2 / r1)[0] == pytest.approx(0.841258862023, abs=5e-13)
    assert_same_formula(rel, _annular)
    # as r2c/r1 -> 1 the annular fin becomes a straight fin of length L_c; the difference is
    # first order in delta = r2c/r1 - 1 with a coefficient well below 1
    mL_c = np.array([0.01, 0.5, 1.0, 3.5])
    for delta in (1e-3, 1e-4):
        got = value(rel, mL_c=mL_c, r2c_r1=np.full_like(mL_c, 1 + delta))
        assert np.all(np.abs(got - np.tanh(mL_c) / mL_c) < delta)


def test_semi_infinite_convection():
    rel = conduction.semi_infinite_convection

    def theta(eta, beta):
        # Incropera Eq. 5.60 through the scaled function erfcx(z) = exp(z^2) erfc(z):
        # exp(2 eta beta + beta^2) erfc(eta + beta) = exp(-eta^2) erfcx(eta + beta)
        return special.erfc(eta) - np.exp(-(eta**2)) * special.erfcx(eta + beta)

    assert_same_formula(rel, theta)
    # at the surface (eta = 0): theta_s = 1 - exp(beta^2) erfc(beta); beta -> 0 leaves the solid
    # at T_i (theta -> 0), and theta rises with beta towards Case 1's theta_s = 1
    beta = np.array([0.05, 0.5, 1.0, 3.0])
    surface = value(rel, eta=np.zeros_like(beta), beta=beta)
    np.testing.assert_allclose(surface, 1 - np.exp(beta**2) * special.erfc(beta), rtol=SAME_FORMULA)
    assert np.all(np.diff(surface) > 0) and surface[0] < 0.06 and surface[-1] > 0.8


def test_plane_wall_eigenvalue():
    rel = conduction.plane_wall_eigenvalue
    # Incropera Table 5.1, zeta_1 to 4 decimals (+-5e-5)
    table = {0.01: 0.0998, 0.1: 0.3111, 0.5: 0.6533, 1.0: 0.8603, 2.0: 1.0769, 5.0: 1.3138,
             10.0: 1.4289, 100.0: 1.5552}
    got = value(rel, Bi=list(table))
    np.testing.assert_allclose(got, list(table.values()), atol=5e-5, rtol=0)
    # brentq on zeta tan(zeta) - Bi over (0, pi/2), at points across the range
    Bi = np.geomspace(0.01, 100, 41)
    expected = [optimize.brentq(lambda z, b=b: z * math.tan(z) - b, 1e-12, math.pi / 2 - 1e-12, xtol=1e-15, rtol=1e-15)
                for b in Bi]
    np.testing.assert_allclose(value(rel, Bi=Bi), expected, rtol=1e-12)


# -- heat exchangers --------------------------------------------------------------------------------


def test_effectiveness_published_points():
    # ht 1.2 effectiveness_from_NTU docstring, NTU = 5, Cr = 0.7 (counterflow printed to 12 digits)
    assert value(exchangers.counterflow_effectiveness, NTU=5, Cr=0.7)[0] == pytest.approx(0.920670368605, abs=5e-13)
    assert value(exchangers.parallel_flow_effectiveness, NTU=5, Cr=0.7)[0] == pytest.approx(0.5881156068417585,
                                                                                          rel=1e-12)
    # the same function of ht 1.2.0 evaluated for the two cross-flow cases (independent implementations)
    assert value(exchangers.crossflow_unmixed_effectiveness, NTU=5, Cr=0.7)[0] == pytest.approx(0.8444804481910532,
                                                                                              rel=1e-12)
    assert value(exchangers.crossflow_cmax_mixed_effectiveness, NTU=5, Cr=0.7)[0] == pytest.approx(
        0.7158099831204696, rel=1e-12)


def test_effectiveness_formulas():
    def counter(NTU, Cr):
        e = np.exp(-NTU * (1 - Cr))
        with np.errstate(invalid="ignore"):
            return np.where(Cr < 1, (1 - e) / (1 - Cr * e), NTU / (1 + NTU))

    assert_same_formula(exchangers.counterflow_effectiveness, counter)
    assert_same_formula(exchangers.parallel_flow_effectiveness, lambda NTU, Cr: (1 - np.exp(-NTU * (1 + Cr))) / (1 + Cr))
    assert_same_formula(exchangers.crossflow_unmixed_effectiveness,
                        lambda NTU, Cr: 1 - np.exp((1 / Cr) * NTU**0.22 * (np.exp(-Cr * NTU**0.78) - 1)))
    assert_same_formula(exchangers.crossflow_cmax_mixed_effectiveness,
                        lambda NTU, Cr: (1 / Cr) * (1 - np.exp(-Cr * (1 - np.exp(-NTU)))))


def test_effectiveness_limits():
    ntu = np.array([0.01, 0.5, 1.0, 5.0])
    # counterflow at Cr = 1 is its own branch, NTU/(1 + NTU); just below, the general form
    # tends to it (|d eps/d Cr| < 1 here, so a step of 1e-7 moves eps by less than 1e-7)
    at_one = value(exchangers.counterflow_effectiveness, NTU=ntu, Cr=np.ones_like(ntu))
    np.testing.assert_allclose(at_one, ntu / (1 + ntu), rtol=SAME_FORMULA)
    below = value(exchangers.counterflow_effectiveness, NTU=ntu, Cr=np.full_like(ntu, 1 - 1e-7))
    np.testing.assert_allclose(below, ntu / (1 + ntu), atol=1e-7)
    # every arrangement gives 1 - exp(-NTU) at Cr = 0 (Incropera Eq. 11.35a)
    for rel in (exchangers.counterflow_effectiveness, exchangers.parallel_flow_effectiveness):
        np.testing.assert_allclose(value(rel, NTU=ntu, Cr=np.zeros_like(ntu)), 1 - np.exp(-ntu), rtol=SAME_FORMULA)
    for rel in (exchangers.crossflow_unmixed_effectiveness, exchangers.crossflow_cmax_mixed_effectiveness):
        # Cr = 0 is a removable singularity of the printed form; at Cr = 1e-6 the first-order
        # term is below 1e-5 for NTU <= 5
        np.testing.assert_allclose(value(rel, NTU=ntu, Cr=np.full_like(ntu, 1e-6)), 1 - np.exp(-ntu), atol=1e-5)


def test_lmtd():
    # ht 1.2 LMTD(100, 60, 30, 40.2) docstring: counterflow, dT1 = 100 - 40.2, dT2 = 60 - 30
    assert value(exchangers.lmtd, dT1=100 - 40.2, dT2=60 - 30)[0] == pytest.approx(43.200409294131525, rel=1e-12)
    # and parallel flow (counterflow=False): dT1 = 100 - 30, dT2 = 60 - 40.2
    assert value(exchangers.lmtd, dT1=100 - 30, dT2=60 - 40.2)[0] == pytest.approx(39.75251118049003, rel=1e-12)
    assert_same_formula(exchangers.lmtd, lambda dT1, dT2: (dT1 - dT2) / np.log(dT1 / dT2))
    # symmetric in its two differences
    x = points(exchangers.lmtd)
    np.testing.assert_allclose(value(exchangers.lmtd, dT1=x["dT2"], dT2=x["dT1"]), value(exchangers.lmtd, **x),
                               rtol=SAME_FORMULA)


# -- radiation --------------------------------------------------------------------------------------


def test_grey_two_surface_exchange():
    rel = radiation.grey_two_surface_exchange

    def net(T_1, T_2, eps_1, eps_2, F_12, A_12):
        # Incropera Eq. 13.23 with A_1 = 1 m^2 and A_2 = A_1 / A_12
        A1, A2 = 1.0, 1.0 / np.where(A_12 > 0, A_12, np.nan)
        q = SIGMA * (T_1**4 - T_2**4) / ((1 - eps_1) / (eps_1 * A1) + 1 / (A1 * F_12) + (1 - eps_2) / (eps_2 * A2))
        return np.where(A_12 > 0, q, SIGMA * (T_1**4 - T_2**4) / ((1 - eps_1) / eps_1 + 1 / F_12))

    assert_same_formula(rel, net)
    # Incropera Table 13.3, transcribed here: large parallel planes, long concentric cylinders
    # (r1/r2 = 0.5), concentric spheres (r1/r2 = 0.5), small convex object in a large cavity
    T1, T2, e1, e2 = 1000.0, 400.0, 0.8, 0.3
    d = SIGMA * (T1**4 - T2**4)
    cases = [(1.0, d / (1 / e1 + 1 / e2 - 1)),
             (0.5, d / (1 / e1 + (1 - e2) / e2 * 0.5)),
             (0.25, d / (1 / e1 + (1 - e2) / e2 * 0.25)),
             (0.0, e1 * d)]
    for A_12, expected in cases:
        got = value(rel, T_1=T1, T_2=T2, eps_1=e1, eps_2=e2, F_12=1.0, A_12=A_12)[0]
        assert got == pytest.approx(expected, rel=SAME_FORMULA)
    # black surfaces: sigma F_12 (T1^4 - T2^4)
    assert value(rel, T_1=T1, T_2=T2, eps_1=1.0, eps_2=1.0, F_12=0.3, A_12=0.7)[0] == pytest.approx(0.3 * d, rel=SAME_FORMULA)


# -- pipe flow --------------------------------------------------------------------------------------


def colebrook_f(Re, eps_D):
    """Colebrook's Darcy friction factor (White Eq. 6.48), solved here with brentq."""
    g = lambda s: s + 2 * math.log10(eps_D / 3.7 + 2.51 * s / Re)  # s = 1/sqrt(f)  # noqa: E731
    return optimize.brentq(g, 1.0, 100.0, xtol=1e-14, rtol=1e-15) ** -2


def test_haaland():
    # fluids 1.3 (C. Bell) Haaland(1e5, 1e-4) docstring, 17 digits
    assert value(pipe_flow.haaland, Re=1e5, eps_D=1e-4)[0] == pytest.approx(0.018265053014793857, rel=1e-12)
    assert_same_formula(pipe_flow.haaland,
                        lambda Re, eps_D: (-1.8 * np.log10((eps_D / 3.7) ** 1.11 + 6.9 / Re)) ** -2)
    # White: within 2 % of Colebrook over its range
    Re, eD = np.meshgrid(np.geomspace(4e3, 1e8, 41), np.geomspace(1e-6, 0.05, 41))
    Re, eD = Re.ravel(), eD.ravel()
    reference = np.array([colebrook_f(r, e) for r, e in zip(Re, eD)])
    assert np.max(np.abs(value(pipe_flow.haaland, Re=Re, eps_D=eD) / reference - 1)) < 0.02


def test_swamee_jain():
    rel = pipe_flow.swamee_jain
    assert_same_formula(rel, lambda Re, eps_D: 1.325 / np.log(eps_D / 3.7 + 5.74 / Re**0.9) ** 2)
    # fluids 1.3 Swamee_Jain_1976(1e5, 1e-4) docstring uses 0.25/log10(...)^2 and (6.97/Re)^0.9:
    # 0.25 ln(10)^2 / 1.325 = 1.00036 and 6.97^0.9 = 5.7401, so the two forms differ by 3.6e-4
    assert value(rel, Re=1e5, eps_D=1e-4)[0] == pytest.approx(0.018452424431901808, rel=5e-4)
    assert value(rel, Re=1e5, eps_D=1e-4)[0] != pytest.approx(0.018452424431901808, rel=1e-5)


def _operating_point(H0, L, D, k_s):
    """Pump-pipe operating point solved here: brentq on the head balance in Q, Colebrook
    (brentq) inside for f at each trial Q."""
    nu, g = 1.0e-6, 9.80665

    def friction(Q):
        return colebrook_f(4 * Q / (math.pi * D * nu), k_s / D)

    def imbalance(Q):
        return H0 - 4000 * Q**2 - 10 - friction(Q) * L / D * 8 * Q**2 / (math.pi**2 * g * D**4)

    Q = optimize.brentq(imbalance, 1e-4, math.sqrt((H0 - 10) / 4000), xtol=1e-15, rtol=1e-14)
    return Q, friction(Q)


def test_pump_pipe_operating_point():
    rel = pipe_flow.pump_pipe_operating_point
    corners = [(H0, L, D, k) for H0 in (20, 80) for L in (50, 2000) for D in (0.05, 0.3) for k in (1.5e-6, 2.6e-4)]
    x = points(rel, 32)
    rows = corners + list(zip(*(x[n] for n in rel.inputs)))
    got = rel.evaluate({n: np.array([r[j] for r in rows]) for j, n in enumerate(rel.inputs)})
    expected = np.array([_operating_point(*r) for r in rows])
    # both solvers converge to 1e-13; 1e-9 allows the conditioning of the 2x2 system
    np.testing.assert_allclose(got["Q"], expected[:, 0], rtol=1e-9)
    np.testing.assert_allclose(got["f"], expected[:, 1], rtol=1e-9)
    # the pump delivers its head: H0 - k Q^2 equals the static lift plus the pipe loss
    Q, f = got["Q"], got["f"]
    H0, L, D = (np.array([r[j] for r in rows]) for j in range(3))
    np.testing.assert_allclose(H0 - 4000 * Q**2, 10 + f * L / D * 8 * Q**2 / (math.pi**2 * 9.80665 * D**4), rtol=1e-9)


@pytest.mark.parametrize("rel", [conduction.plane_wall_eigenvalue, pipe_flow.pump_pipe_operating_point],
                         ids=lambda r: r.name)
def test_implicit_relations_solve_everywhere(rel):
    """One root inside the declared output ranges at every corner and at 4096 points."""
    from surrogate.declaration.solve import solve

    lo = [float(rel.bounds[n][0]) for n in rel.inputs]
    hi = [float(rel.bounds[n][1]) for n in rel.inputs]
    corners = np.array(list(itertools.product(*zip(lo, hi))))
    x = points(rel, 4096)
    x = np.concatenate([corners, np.stack([x[n] for n in rel.inputs], 1)])
    assert solve(rel, x).counts()["solved"] == len(x)
