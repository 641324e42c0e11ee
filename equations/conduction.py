"""Conduction: fin efficiencies, the semi-infinite solid, the plane-wall eigenvalue.

"Incropera" is T. L. Bergman, A. S. Lavine, F. P. Incropera and D. P. DeWitt,
Fundamentals of Heat and Mass Transfer, 7th ed., Wiley, 2011.  These are exact
solutions of the conduction models they belong to (one-dimensional conduction,
constant properties, uniform h), so no accuracy is stated beyond the model's own
assumptions.  `SOURCES` holds the source, the validity range and the accuracy for
the datasheets.
"""

import sympy as sp

from surrogate import Relation


def _dimensionless(*symbols):
    """units= for symbols that are all dimensionless groups."""
    return dict.fromkeys(symbols, "")

__all__ = ["straight_fin_efficiency", "annular_fin_efficiency", "semi_infinite_convection", "plane_wall_eigenvalue"]

mL, eta_f, mL_c, r2c_r1 = sp.symbols("mL eta_f mL_c r2c_r1")
eta, beta, theta = sp.symbols("eta beta theta")
Bi, zeta = sp.symbols("Bi zeta")

_EXACT = "exact solution of the one-dimensional model (constant k and h)"

SOURCES = {
    "straight_fin_efficiency": {
        "source": "Incropera, 7th ed., Eq. 3.89 and Table 3.5 (straight fin of uniform cross section, "
                  "adiabatic tip; with the corrected length L_c = L + t/2 it covers a convective tip)",
        "validity": "any mL > 0; 0 < mL <= 5 chosen; eta_f -> 1 as mL -> 0",
        "accuracy": _EXACT,
    },
    "annular_fin_efficiency": {
        "source": "Incropera, 7th ed., Table 3.5 (annular fin of rectangular profile, corrected radius "
                  "r_2c = r_2 + t/2), in terms of mL_c = m (r_2c - r_1) and r_2c/r_1, the variables of "
                  "Incropera's annular-fin efficiency chart",
        "validity": "any mL_c > 0, r_2c/r_1 > 1; chosen 0.01 <= mL_c <= 3.5 and 1.1 <= r_2c/r_1 <= 5, "
                    "about the span of that chart",
        "accuracy": _EXACT + "; Incropera: the error of the corrected-length tip is negligible when "
                    "h t / k <= 0.0625",
    },
    "semi_infinite_convection": {
        "source": "Incropera, 7th ed., sec. 5.7, Case 3 (surface convection), Eq. 5.60 and Fig. 5.8; "
                  "Carslaw & Jaeger, Conduction of Heat in Solids, 2nd ed., 1959",
        "validity": "any eta = x/(2 (alpha t)^(1/2)) >= 0 and beta = h (alpha t)^(1/2) / k > 0; chosen "
                    "0 <= eta <= 2 and 0.05 <= beta <= 3 (about the span of Fig. 5.8)",
        "accuracy": _EXACT,
    },
    "plane_wall_eigenvalue": {
        "source": "Incropera, 7th ed., sec. 5.5.1 (transient plane wall with convection, "
                  "zeta_n tan zeta_n = Bi) and Table 5.1 (first eigenvalue zeta_1)",
        "validity": "0.01 <= Bi <= 100, the span of Table 5.1; the first root lies in (0, pi/2), "
                    "declared range (0.05, 1.57)",
        "accuracy": "exact (the root of the transcendental equation)",
    },
}

#: Efficiency of a straight fin of uniform cross section with an adiabatic tip:
#: eta_f = tanh(mL) / (mL), m = (h P / k A_c)^(1/2) (Incropera, 7th ed., Eq. 3.89;
#: with L_c = L + t/2 it covers a convective tip).  The limit at mL -> 0 is 1
#: (removable singularity).  0 < mL <= 5 chosen.
straight_fin_efficiency = Relation(
    sp.Eq(eta_f, sp.tanh(mL) / mL),
    bounds={mL: (0, 5)},
    units=_dimensionless(eta_f, mL),
    name="straight_fin_efficiency",
)

_a = mL_c / (r2c_r1 - 1)  # m r_1
_b = r2c_r1 * _a  # m r_2c

#: Efficiency of an annular fin of rectangular profile (Incropera, 7th ed., Table 3.5):
#: eta_f = C2 [K1(m r1) I1(m r2c) - I1(m r1) K1(m r2c)] / [I0(m r1) K1(m r2c) + K0(m r1) I1(m r2c)],
#: C2 = (2 r1/m) / (r2c^2 - r1^2), written in mL_c = m (r2c - r1) and r2c_r1 = r2c/r1
#: (m r1 = mL_c / (r2c/r1 - 1), and C2 = 2 (m r1) / ((m r2c)^2 - (m r1)^2)).  Ranges
#: chosen to about the span of Incropera's annular-fin chart: mL_c 0.01-3.5, r2c/r1
#: 1.1-5 (r2c/r1 -> 1 is the straight fin).
annular_fin_efficiency = Relation(
    sp.Eq(eta_f, 2 * _a / (_b**2 - _a**2)
          * (sp.besselk(1, _a) * sp.besseli(1, _b) - sp.besseli(1, _a) * sp.besselk(1, _b))
          / (sp.besseli(0, _a) * sp.besselk(1, _b) + sp.besselk(0, _a) * sp.besseli(1, _b))),
    bounds={mL_c: (0.01, 3.5), r2c_r1: (1.1, 5)},
    units=_dimensionless(eta_f, mL_c, r2c_r1),
    name="annular_fin_efficiency",
)

#: Semi-infinite solid, initially at T_i, whose surface meets a fluid at T_inf through
#: a coefficient h from t = 0 (Incropera, 7th ed., sec. 5.7, Case 3, Eq. 5.60):
#: theta = (T - T_i)/(T_inf - T_i) = erfc(eta) - exp(2 eta beta + beta^2) erfc(eta + beta),
#: eta = x / (2 (alpha t)^(1/2)), beta = h (alpha t)^(1/2) / k (Eq. 5.60's exponent
#: h x/k + h^2 alpha t/k^2 is 2 eta beta + beta^2).  beta -> infinity gives Case 1,
#: erfc(eta).  Ranges chosen to about the span of Fig. 5.8: eta 0-2, beta 0.05-3.
semi_infinite_convection = Relation(
    sp.Eq(theta, sp.erfc(eta) - sp.exp(2 * eta * beta + beta**2) * sp.erfc(eta + beta)),
    bounds={eta: (0, 2), beta: (0.05, 3)},
    units=_dimensionless(theta, eta, beta),
    name="semi_infinite_convection",
)

#: First eigenvalue zeta_1 of the transient plane wall with convection at both faces:
#: zeta tan(zeta) = Bi (Incropera, 7th ed., sec. 5.5.1; Table 5.1 lists zeta_1 for Bi
#: from 0.01 to 100).  zeta tan(zeta) rises strictly from 0 to infinity on (0, pi/2), so
#: the first root is unique there; over Bi in [0.01, 100] it lies in [0.0998, 1.5552].
#: The range (0.05, 1.57) keeps a factor 2 below and stops short of the pole of tan at
#: pi/2 = 1.5708 (float32 rounds pi/2 upwards, past the pole), while tan(1.57) = 1256
#: still makes the residual positive for every Bi <= 100.
plane_wall_eigenvalue = Relation(
    sp.Eq(zeta * sp.tan(zeta), Bi),
    bounds={Bi: (0.01, 100)},
    outputs={zeta: (0.05, 1.57)},
    units=_dimensionless(zeta, Bi),
    name="plane_wall_eigenvalue",
)
