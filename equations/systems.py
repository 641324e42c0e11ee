"""Systems an engineer iterates by hand: chains of correlations with an unknown inside.

Each is an implicit `Relation` of several equations whose outputs no formula gives
explicitly: a pipe network whose friction factors depend on the flows they set, three
reservoirs whose middle one may feed or drain the junction, a gas
pipeline whose outlet pressure sits inside a logarithm, surfaces whose convection
coefficient depends on their own temperature, an exchanger whose heat capacity rate
depends on the outlet temperature it sets, a furnace wall whose conductivity depends on
the temperatures it carries.  The package's solve (`surrogate.declaration.solve.solve`)
is the reference of each, and each output range was chosen as equations/implicit.py
explains: solved at the 2^d corners of the domain and at 10^5 scrambled Sobol points
(every point returned a root, status 0), the interval the roots cover widened so that
the range keeps a margin at both ends; the measured intervals are quoted below
(tests/test_systems.py solves a few hundred points of each again).

Chosen data, shared by several systems:

- water at 20 C, nu = 1.0e-6 m^2/s; commercial steel, k_s = 4.5e-5 m (Moody 1944);
- air at 1 atm, film-temperature properties as power laws fitted here to Incropera &
  DeWitt, Fundamentals of Heat and Mass Transfer, Table A.4 (250-700 K):
  nu = 1.591e-5 (T/300)^1.732 m^2/s and k = 0.02633 (T/300)^0.833 W/(m K), both within
  1.8 % of the table; Pr = 0.70 (the table's 0.684-0.720); beta = 1/T (ideal gas);
- natural gas as methane, R = 518.3 J/(kg K), dynamic viscosity 1.1e-5 Pa s.

"White" is F. M. White, Fluid Mechanics, 7th ed., McGraw-Hill, 2011; "Incropera" is
F. P. Incropera, D. P. DeWitt et al., Fundamentals of Heat and Mass Transfer, 6th ed.,
Wiley, 2007.  `SOURCES` holds the source, the validity range and the accuracy for the
datasheets.
"""

import sympy as sp

from equations.implicit import parallel_pipes
from surrogate import Relation

__all__ = [
    "parallel_pipes",  # declared with the implicit relations (equations/implicit.py), shipped with the systems
    "looped_pipes",
    "three_reservoirs",
    "gas_pipeline",
    "plate_natural_convection",
    "insulated_pipe",
    "oil_cooler",
    "furnace_wall",
]

GRAVITY = 9.80665  # m/s^2
STEFAN_BOLTZMANN = 5.670374419e-8  # W m^-2 K^-4 (CODATA 2018)
WATER_VISCOSITY = 1.0e-6  # kinematic, m^2/s (water near 20 C)
STEEL_ROUGHNESS = 4.5e-5  # m, commercial steel (Moody 1944)
AIR_PRANDTL = 0.70


# The helpers below are plain arithmetic: they build SymPy expressions from symbols and evaluate
# NumPy arrays alike (bench/saving.py's hand-written solves call them), one definition for both.


def air_viscosity(T):
    """Kinematic viscosity of air at 1 atm (m^2/s), T in K: fit to Incropera Table A.4."""
    return 1.591e-5 * (T / 300) ** 1.732


def air_conductivity(T):
    """Thermal conductivity of air at 1 atm (W/(m K)), T in K: fit to Incropera Table A.4."""
    return 0.02633 * (T / 300) ** 0.833


def rayleigh(dT, T_film, length):
    """g beta dT L^3 / (nu alpha) of air, beta = 1/T_film, alpha = nu/Pr."""
    nu = air_viscosity(T_film)
    return GRAVITY * dT * length**3 * AIR_PRANDTL / (T_film * nu**2)


def churchill_chu(rayleigh_number, lead, prandtl_constant):
    """Churchill and Chu's correlation for all Rayleigh numbers, {lead + 0.387 Ra^(1/6) / [1 +
    (c/Pr)^(9/16)]^(8/27)}^2: lead 0.825, c 0.492 for a vertical plate (Incropera Eq. 9.26),
    lead 0.60, c 0.559 for a horizontal cylinder (Incropera Eq. 9.34)."""
    shape = (1 + (prandtl_constant / AIR_PRANDTL) ** (9 / 16)) ** (8 / 27)
    return (lead + 0.387 * rayleigh_number ** (1 / 6) / shape) ** 2


#: Churchill-Chu's (lead, c) of each shape (`churchill_chu`).
VERTICAL_PLATE, HORIZONTAL_CYLINDER = (0.825, 0.492), (0.60, 0.559)


def natural_convection(dT, T_air, length, shape):
    """h (W/(m^2 K)) of a surface dT above still air at T_air: Churchill-Chu for `shape` on `length`
    (a plate's height, a cylinder's diameter), air properties at the film temperature T_air + dT/2."""
    film = T_air + dT / 2
    return air_conductivity(film) / length * churchill_chu(rayleigh(dT, film, length), *shape)


def oil_cp(T):
    """Specific heat of unused engine oil (J/(kg K)), linear through Incropera Table A.5's values
    at 300 and 400 K."""
    return 1909 + 4.19 * (T - 300)


def _swamee_jain(flow, diameter):
    """Swamee-Jain's explicit Darcy friction factor of water in a steel pipe, Re = 4 Q/(pi D nu)."""
    reynolds = 4 * flow / (sp.pi * diameter * WATER_VISCOSITY)
    return 0.25 / sp.log(STEEL_ROUGHNESS / (3.7 * diameter) + 5.74 / reynolds**0.9, 10) ** 2


SOURCES = {
    "parallel_pipes": {
        "source": "two steel pipes in parallel: continuity, the same Darcy-Weisbach head loss "
                  "h = 8 f L Q^2/(pi^2 g D^5) across both, Colebrook's friction factor in each at "
                  "Re = 4 Q/(pi D nu) (White, sec. 6.9 'pipes in parallel', Eq. 6.48)",
        "validity": "water at 20 C (nu = 1.0e-6 m^2/s), commercial steel (k_s = 4.5e-5 m), no minor losses; chosen "
                    "0.05 <= Q <= 0.5 m^3/s, 0.1 <= D1, D2 <= 0.3 m, 100 <= L1, L2 <= 1000 m; Re stays above 9000 in "
                    "both pipes (turbulent)",
        "accuracy": "that of Colebrook's formula (about 15 % on f, White)",
    },
    "looped_pipes": {
        "source": "three steel pipes in parallel between two junctions (a network of two loops): continuity, "
                  "the same Darcy-Weisbach head loss h = 8 f L Q^2/(pi^2 g D^5) across each, Swamee-Jain's "
                  "friction factor in each (White, ch. 6, 'multiple-pipe systems': pipes in parallel, pipe "
                  "networks by Hardy Cross)",
        "validity": "water at 20 C (nu = 1.0e-6 m^2/s), commercial steel (k_s = 4.5e-5 m), lengths 500, 800 and "
                    "1200 m, no minor losses; chosen 0.02 <= Q <= 0.2 m^3/s, 0.15 <= D1, D2, D3 <= 0.35 m; "
                    "Re stays above 5600 in every pipe (turbulent; Swamee-Jain from 5000)",
        "accuracy": "that of Swamee-Jain against Colebrook (about 1 %) and of Colebrook itself (about 15 % on f, "
                    "White)",
    },
    "three_reservoirs": {
        "source": "the three-reservoir junction (White, ch. 6, 'multiple-pipe systems'): the head losses of three "
                  "pipes that meet at a junction, Darcy-Weisbach with von Karman's fully rough friction factor (White, Eq. 6.48 as "
                  "Re -> inf), and continuity at the junction, the middle reservoir's flow of either sign",
        "validity": "water in cast-iron pipes (k_s = 2.6e-4 m) of 1000, 800 and 1200 m from reservoirs at 100 m, z2 "
                    "and 0 m, no minor losses; chosen 10 <= z2 <= 90 m, 0.15 <= D_1, D_2, D_3 <= 0.4 m",
        "accuracy": "fully rough flow is assumed: in pipes 1 and 3 (Re above 1.7e5) Colebrook's friction factor is at "
                    "most 7 % higher (measured); the middle pipe's flow passes through zero, where no turbulent "
                    "friction factor holds (its head loss is small there); Colebrook itself is about 15 % on f (White)",
    },
    "gas_pipeline": {
        "source": "isothermal flow with friction in a long gas pipe, p1^2 - p2^2 = G^2 R T [f L/D + 2 ln(p1/p2)] "
                  "(White, ch. 9, isothermal flow with friction in long pipelines), with Colebrook's friction "
                  "factor at Re = 4 m/(pi D mu) (White, Eq. 6.48)",
        "validity": "methane (R = 518.3 J/(kg K), mu = 1.1e-5 Pa s) at 288 K, commercial steel (k_s = 4.5e-5 m); "
                    "chosen 4 <= p1 <= 7 MPa, 1 <= m <= 12 kg/s, 0.3 <= D <= 0.6 m, 10 <= L <= 60 km; the "
                    "outlet stays above 2 MPa, far from choking (G sqrt(RT) below 0.07 MPa)",
        "accuracy": "that of Colebrook's formula (about 15 % on f) and of the ideal-gas, isothermal model",
    },
    "plate_natural_convection": {
        "source": "surface energy balance of a vertical plate heated at a uniform flux, q = h dT + eps sigma "
                  "(T_s^4 - T_inf^4) (Incropera sec. 1.3.1), with Churchill and Chu's correlation for all Ra "
                  "(Incropera Eq. 9.26) and air properties at the film temperature (T_s + T_inf)/2",
        "validity": "air at 1 atm, properties fitted to Incropera Table A.4 (within 1.8 %), Pr = 0.70; surroundings "
                    "at the air's temperature; chosen 10 <= q <= 1000 W/m^2, 0.05 <= L <= 1 m, 270 <= T_inf <= 320 K, "
                    "0.05 <= eps <= 0.95; Ra stays within 8e3-8e9",
        "accuracy": "that of Churchill-Chu (about 10-20 % against experiment; the flux-heated plate is treated as "
                    "isothermal at its mean temperature) and of the property fits",
    },
    "insulated_pipe": {
        "source": "heat loss of an insulated pipe: conduction through the insulation q' = 2 pi k (T_i - T_s)/"
                  "ln(r_o/r_i) (Incropera Eq. 3.27) and, outside, natural convection by Churchill and Chu's "
                  "horizontal-cylinder correlation (Incropera Eq. 9.34) with film-temperature air properties plus "
                  "grey radiation to surroundings at the air's temperature",
        "validity": "pipe wall and inner film resistances neglected (the insulation's inner surface at the fluid's "
                    "temperature T_i), air at 293.15 K, Pr = 0.70; chosen 330 <= T_i <= 600 K, 0.02 <= D_p <= 0.3 m, "
                    "0.01 <= t <= 0.1 m, 0.03 <= k_ins <= 0.1 W/(m K), 0.05 <= eps <= 0.9",
        "accuracy": "that of Churchill-Chu (about 10-20 %) and of the insulation's conductivity, which in practice "
                    "varies with its mean temperature",
    },
    "oil_cooler": {
        "source": "outlet temperatures of a counterflow oil cooler rated from its inlet states by the "
                  "effectiveness-NTU method (Incropera Eq. 11.29a), with the oil's specific heat at its mean "
                  "temperature, and the overall energy balance for the water (Incropera sec. 11.2)",
        "validity": "engine oil, c_p = 1909 + 4.19 (T - 300) J/(kg K) (linear in Incropera Table A.5's 1909 and "
                    "2328 J/(kg K) at 300 and 400 K), water c_p = 4180 J/(kg K); chosen 330 <= T_hi <= 420 K, "
                    "280 <= T_ci <= 310 K, 0.1 <= m_h <= 1 kg/s, 1 <= m_c <= 3 kg/s, 100 <= UA <= 5000 W/K; the oil "
                    "is always the smaller capacity rate (C_r <= 0.575)",
        "accuracy": "that of the effectiveness-NTU model (UA uniform along the exchanger) and of the c_p fit",
    },
    "furnace_wall": {
        "source": "steady conduction through a plane wall whose conductivity is linear in temperature, "
                  "q L = k0 (T_1 - T_2) + k1 (T_1^2 - T_2^2)/2 (Kirchhoff's transform of k dT; Incropera sec. 3.1 "
                  "for k(T)), between convection from the furnace gas and to the room air",
        "validity": "an insulating firebrick with k = 0.2 + 2.5e-4 T W/(m K) (chosen: 0.27 at 300 K, 0.5 at 1200 K); "
                    "radiation inside the furnace folded into h_i; chosen 800 <= T_g <= 1400 K, 20 <= h_i <= 200 "
                    "W/(m^2 K), 0.05 <= L <= 0.4 m, 5 <= h_o <= 40 W/(m^2 K), 280 <= T_a <= 320 K",
        "accuracy": "that of the convection coefficients given (10-25 % as correlations give them) and of the "
                    "conductivity's linear fit",
    },
}

#: Budgets other than `surrogate build`'s default (400 Levenberg-Marquardt steps, seed 0), in steps
#: that keep each training within issue 23's ten CPU-minutes on one core: an LM step's cost grows with
#: the outputs (each point gives a residual per equation), ~0.55 s with two outputs and ~900
#: parameters, so 800 steps with two outputs, 550 with three.  With four outputs a point gives four
#: residual rows, so the four-equation systems draw 2 points per parameter (8 rows, as a one-output
#: relation has) and take four times the steps at about the same CPU: the looped pipes certified 4.4e-4
#: so (1 600 steps, 552 CPU s) against 9.4e-4 with 8 points a parameter (400 steps, 479 s; bench/README.md).
BUILD = {
    "parallel_pipes": {"steps": 1600, "config": {"lm": {"points_per_param": 2}}},
    "looped_pipes": {"steps": 1600, "config": {"lm": {"points_per_param": 2}}},
    "three_reservoirs": {"steps": 550},
    "gas_pipeline": {"steps": 800},
    "plate_natural_convection": {"steps": 800},
    "insulated_pipe": {"steps": 800},
    "oil_cooler": {"steps": 800},
    "furnace_wall": {"steps": 550},
}

# -- a network of two loops -----------------------------------------------------------------------

Q, D1, D2, D3 = sp.symbols("Q D1 D2 D3", positive=True)
Q1, Q2, Q3, h_L = sp.symbols("Q1 Q2 Q3 h_L", positive=True)
PIPE_LENGTHS = (500, 800, 1200)  # m


def _head_loss(flow, diameter, length):
    """Darcy-Weisbach: h = f (L/D) V^2/(2 g) = 8 f L Q^2/(pi^2 g D^5), f by Swamee-Jain."""
    return 8 * _swamee_jain(flow, diameter) * length * flow**2 / (sp.pi**2 * GRAVITY * diameter**5)


#: Flow split between three steel pipes in parallel (lengths 500, 800 and 1200 m) carrying water
#: between two junctions: two loops in Hardy Cross's sense, four equations in Q1, Q2, Q3 and the
#: head loss h_L.  Continuity Q1 + Q2 + Q3 = Q, and h_L = 8 f_i L_i Q_i^2/(pi^2 g D_i^5) in each
#: pipe with Swamee-Jain's friction factor at Re_i = 4 Q_i/(pi D_i nu) (White, ch. 6, "multiple-pipe
#: systems").
#: Inputs: total flow Q 0.02-0.2 m^3/s, diameters 0.15-0.35 m (velocities up to 4.7 m/s).  Each
#: pipe's head loss rises strictly with its flow (f Q^2 grows with Q: Swamee-Jain's f falls more
#: slowly than 1/Q), so each Q_i is an increasing function of h_L and their sum meets Q once:
#: the split is unique.  Solved at the 16 corners and 10^5 Sobol points (bench/systems.py):
#: Q_i in [6.6e-4, 0.174] m^3/s, h_L in [0.0132, 59.6] m; the smallest share keeps Re above 5600
#: (Swamee-Jain's range starts at 5000).  The ranges (3e-4, 0.3) and (5e-3, 150) keep a margin
#: of 1.7x or more at each end.
looped_pipes = Relation(
    [sp.Eq(Q1 + Q2 + Q3, Q)]
    + [sp.Eq(h_L, _head_loss(q_i, d_i, l_i)) for q_i, d_i, l_i in zip((Q1, Q2, Q3), (D1, D2, D3), PIPE_LENGTHS)],
    bounds={Q: (0.02, 0.2), D1: (0.15, 0.35), D2: (0.15, 0.35), D3: (0.15, 0.35)},
    outputs={Q1: (3e-4, 0.3), Q2: (3e-4, 0.3), Q3: (3e-4, 0.3), h_L: (5e-3, 150)},
    units={Q: "m^3/s", Q1: "m^3/s", Q2: "m^3/s", Q3: "m^3/s", h_L: "m", D1: "m", D2: "m", D3: "m"},
    name="looped_pipes",
)

# -- three reservoirs ------------------------------------------------------------------------------

z2, D_1, D_2, D_3 = sp.symbols("z2 D_1 D_2 D_3", positive=True)
H_J, Q_1, Q_3 = sp.symbols("H_J Q_1 Q_3", positive=True)
CAST_IRON_ROUGHNESS = 2.6e-4  # m (Moody 1944)
RESERVOIR_1, RESERVOIR_3 = 100.0, 0.0  # m, the highest and the lowest free surface
RESERVOIR_LENGTHS = (1000, 800, 1200)  # m, pipes 1, 2, 3


def rough_pipe_coefficient(diameter, length):
    """K (s^2/m^5) of h = K Q^2 for a cast-iron pipe in fully rough flow: Darcy-Weisbach with von
    Karman's rough-pipe friction factor 1/sqrt(f) = -2 log10(k_s/(3.7 D)) (White, Eq. 6.48 at Re -> inf)."""
    friction = 1 / (2 * sp.log(CAST_IRON_ROUGHNESS / (3.7 * diameter), 10)) ** 2
    return 8 * friction * length / (sp.pi**2 * GRAVITY * diameter**5)


_K1, _K2, _K3 = (rough_pipe_coefficient(d, l_i) for d, l_i in zip((D_1, D_2, D_3), RESERVOIR_LENGTHS))
_Q_2 = Q_3 - Q_1  # into the junction from the middle reservoir, either sign

#: The three-reservoir problem (White, ch. 6, "multiple-pipe systems"): cast-iron pipes from
#: reservoirs at 100 m (pipe 1, 1000 m long), z2 (pipe 2, 800 m) and 0 m (pipe 3, 1200 m) meet at a
#: junction of head H_J.  Unknowns H_J and the flows Q_1 (out of the highest reservoir) and Q_3
#: (into the lowest), both positive; the middle reservoir's flow Q_3 - Q_1 takes either sign, which
#: is what makes it a hand iteration (guess H_J, compare the flows, correct).  Head losses by
#: Darcy-Weisbach in fully rough flow, h = K Q |Q| (`rough_pipe_coefficient`).  Inputs: z2 10-90 m,
#: diameters 0.15-0.4 m.  Unique: with H_J in (0, 100), Q_1 falls, Q_3 rises and the middle flow
#: falls strictly with H_J, so continuity holds at one H_J.  Solved at the 16 corners and 10^5
#: Sobol points (bench/systems.py): H_J in [1.23, 99.1] m, Q_1 in [0.0203, 0.728] and Q_3 in
#: [0.0186, 0.681] m^3/s; Re above 1.7e5 in pipes 1 and 3.  H_J lies in (0, 100) by physics; the
#: ranges (0.3, 100) and (5e-3, 1.5) keep a margin of 2x or more on the flows.
three_reservoirs = Relation(
    [
        sp.Eq(RESERVOIR_1 - H_J, _K1 * Q_1**2),
        sp.Eq(H_J - RESERVOIR_3, _K3 * Q_3**2),
        sp.Eq(z2 - H_J, _K2 * _Q_2 * sp.Abs(_Q_2)),
    ],
    bounds={z2: (10, 90), D_1: (0.15, 0.4), D_2: (0.15, 0.4), D_3: (0.15, 0.4)},
    outputs={H_J: (0.3, 100), Q_1: (5e-3, 1.5), Q_3: (5e-3, 1.5)},
    units={H_J: "m", Q_1: "m^3/s", Q_3: "m^3/s", z2: "m", D_1: "m", D_2: "m", D_3: "m"},
    name="three_reservoirs",
)

# -- a gas pipeline ---------------------------------------------------------------------------

p1, m_dot, D, L = sp.symbols("p1 m_dot D L", positive=True)
f, dp = sp.symbols("f dp", positive=True)
GAS_CONSTANT_METHANE = 518.3  # J/(kg K)
METHANE_VISCOSITY = 1.1e-5  # Pa s, near 288 K
GAS_TEMPERATURE = 288.0  # K

_mass_flux = m_dot / (sp.pi * D**2 / 4)
_p2 = p1 - dp

#: Pressure drop dp = p1 - p2 (Pa) of natural gas (as methane) flowing isothermally at 288 K in a
#: long steel pipeline, and its Darcy friction factor f: p1^2 - p2^2 = G^2 R T [f L/D + 2
#: ln(p1/p2)], G = 4 m/(pi D^2) (White, ch. 9, isothermal flow in long pipelines), written
#: dp (2 p1 - dp) on the left so that a small drop loses no digits; Colebrook for f at Re = 4 m/(pi D mu) (White, Eq. 6.48).  Two
#: blocks: Colebrook in f alone (Re does not depend on the pressure), then the drop.
#: Inputs: inlet pressure p1 4-7 MPa, mass flow m 1-12 kg/s, diameter D 0.3-0.6 m, length L 10-60
#: km.  Unique: Colebrook has one root in f; in p2, the left side minus the right falls strictly
#: as p2 falls while p2^2 > G^2 R T (subsonic in the isothermal sense), and the range keeps p2
#: above 1 MPa, far above G sqrt(RT) <= 0.07 MPa.  Solved at the 16 corners and 10^5 Sobol
#: points (bench/systems.py): dp in [36.3, 1.86e6] Pa, f in [0.0122, 0.0163], Re in [1.9e5,
#: 4.6e6].  The ranges (10, 3e6) Pa (which keeps p2 >= 1 MPa) and (0.008, 0.025) keep a margin
#: of 1.5x or more.
gas_pipeline = Relation(
    [
        sp.Eq(1 / sp.sqrt(f), -2 * sp.log(STEEL_ROUGHNESS / (3.7 * D)
                                          + 2.51 * sp.pi * D * METHANE_VISCOSITY / (4 * m_dot * sp.sqrt(f)), 10)),
        sp.Eq(dp * (2 * p1 - dp), _mass_flux**2 * GAS_CONSTANT_METHANE * GAS_TEMPERATURE
              * (f * L / D + 2 * sp.log(p1 / _p2))),
    ],
    bounds={p1: (4e6, 7e6), m_dot: (1, 12), D: (0.3, 0.6), L: (1e4, 6e4)},
    outputs={dp: (10, 3e6), f: (0.008, 0.025)},
    units={dp: "Pa", f: "", p1: "Pa", m_dot: "kg/s", D: "m", L: "m"},
    name="gas_pipeline",
)

# -- surfaces whose convection coefficient depends on their own temperature -----------------------

q, L_p, T_inf, emissivity = sp.symbols("q L_p T_inf emissivity", positive=True)
dT, h = sp.symbols("dT h", positive=True)

#: Temperature rise dT = T_s - T_inf (K) of a vertical plate of height L_p that dissipates a
#: uniform flux q (W/m^2) to still air by natural convection and to surroundings at the air's
#: temperature by radiation, and its convection coefficient h (W/(m^2 K)):
#: q = h dT + eps sigma (T_s^4 - T_inf^4) (Incropera sec. 1.3.1) and h = Nu k/L_p with
#: Churchill and Chu's Nu for all Ra (Incropera Eq. 9.26), air properties at the film
#: temperature T_inf + dT/2 (fits in this module's docstring).  Inputs: q 10-1000 W/m^2,
#: L_p 0.05-1 m, T_inf 270-320 K, emissivity 0.05-0.95.  Unique: with h eliminated, the heat
#: the plate loses, h dT plus radiation, rises strictly with dT (Nu grows as Ra^(1/4) to
#: Ra^(1/3), and the properties' drift with the film temperature, k/nu^(2/3) ~ T^-0.32, does not
#: undo the factor dT^(4/3)); checked at 2000 Sobol points times 300 values of dT across its
#: range, and the solve's eight Newton starts agree at every point.  Solved at the 16 corners
#: and 10^5 Sobol points (bench/systems.py): dT in [1.00, 145] K, h in [1.57, 8.92] W/(m^2 K),
#: Ra in [8.4e3, 7.2e9], the film temperature in [271, 392] K.  The ranges (0.5, 300) and (1, 15)
#: keep a margin of 1.5x or more.
plate_natural_convection = Relation(
    [
        sp.Eq(q, h * dT + emissivity * STEFAN_BOLTZMANN * ((T_inf + dT) ** 4 - T_inf**4)),
        sp.Eq(h, natural_convection(dT, T_inf, L_p, VERTICAL_PLATE)),
    ],
    bounds={q: (10, 1000), L_p: (0.05, 1), T_inf: (270, 320), emissivity: (0.05, 0.95)},
    outputs={dT: (0.5, 300), h: (1, 15)},
    units={dT: "K", h: "W/(m^2*K)", q: "W/m^2", L_p: "m", T_inf: "K", emissivity: ""},
    name="plate_natural_convection",
)

T_i, D_p, t_ins, k_ins = sp.symbols("T_i D_p t_ins k_ins", positive=True)
q_line = sp.symbols("q_line", positive=True)
ROOM = 293.15  # K, the air and surroundings around the insulated pipe

_outer = D_p + 2 * t_ins

#: Heat loss per metre q_line (W/m) of an insulated pipe in still room air at 293.15 K, and the
#: rise dT = T_s - 293.15 K of its outer surface: conduction through the insulation, q' = 2 pi
#: k_ins (T_i - T_s)/ln(1 + 2 t/D_p) (Incropera Eq. 3.27), equal to the loss from the outer
#: surface, pi D_o [h dT + eps sigma (T_s^4 - T_room^4)], h by Churchill and Chu's horizontal-
#: cylinder correlation (Incropera Eq. 9.34) with film-temperature air properties.  The pipe wall
#: and inner film are neglected (the insulation's inner face at the fluid's T_i).  Inputs: T_i
#: 330-600 K, pipe outer diameter D_p 0.02-0.3 m, insulation thickness t_ins 0.01-0.1 m, its
#: conductivity k_ins 0.03-0.1 W/(m K), emissivity 0.05-0.9.  Unique: the conducted heat falls
#: and the lost heat rises strictly with T_s (the latter checked at 2000 Sobol points times 300
#: values of dT, as for the plate).  Solved at the 32 corners and 10^5 Sobol points
#: (bench/systems.py): dT in [0.617, 174] K, q_line in [2.76, 1836] W/m, Ra in [4.2e4, 3.8e8]
#: (laminar).  The ranges (0.3, 350) and (1.5, 3000) keep a margin of 1.6x or more.
insulated_pipe = Relation(
    [
        sp.Eq(q_line * sp.log(1 + 2 * t_ins / D_p), 2 * sp.pi * k_ins * (T_i - ROOM - dT)),
        sp.Eq(q_line, sp.pi * _outer * (natural_convection(dT, ROOM, _outer, HORIZONTAL_CYLINDER) * dT
                                        + emissivity * STEFAN_BOLTZMANN * ((ROOM + dT) ** 4 - ROOM**4))),
    ],
    bounds={T_i: (330, 600), D_p: (0.02, 0.3), t_ins: (0.01, 0.1), k_ins: (0.03, 0.1), emissivity: (0.05, 0.9)},
    outputs={dT: (0.3, 350), q_line: (1.5, 3000)},
    units={dT: "K", q_line: "W/m", T_i: "K", D_p: "m", t_ins: "m", k_ins: "W/(m*K)", emissivity: ""},
    name="insulated_pipe",
)

# -- an exchanger rated from its inlet states -----------------------------------------------------

T_hi, T_ci, m_h, m_c, UA = sp.symbols("T_hi T_ci m_h m_c UA", positive=True)
T_ho, T_co = sp.symbols("T_ho T_co", positive=True)
WATER_CP = 4180.0  # J/(kg K)


_C_h = m_h * oil_cp((T_hi + T_ho) / 2)
_C_c = m_c * WATER_CP
_ntu = UA / _C_h
_cr = _C_h / _C_c
_counterflow = (1 - sp.exp(-_ntu * (1 - _cr))) / (1 - _cr * sp.exp(-_ntu * (1 - _cr)))

#: Outlet temperatures T_ho (oil) and T_co (water) of a counterflow oil cooler from its inlet
#: states, by the effectiveness-NTU method: T_hi - T_ho = eps (T_hi - T_ci) with the counterflow
#: eps(NTU, C_r) (Incropera Eq. 11.29a), the oil the smaller capacity rate C_h = m_h c_p(T_mean)
#: with c_p at the oil's mean temperature (T_hi + T_ho)/2, and the water's energy balance
#: m_c c_pw (T_co - T_ci) = C_h (T_hi - T_ho).  An engineer iterates on the mean temperature.
#: Inputs: T_hi 330-420 K, T_ci 280-310 K, m_h 0.1-1 kg/s, m_c 1-3 kg/s, UA 100-5000 W/K; C_r
#: stays below 0.575, away from eps's removable 0/0 at C_r = 1.  Two blocks: T_ho alone, then T_co
#: explicitly.  Unique: the heat rate eps C_h (T_hi - T_ci) grows with C_h, so d(eps)/dC_h >
#: -eps/C_h and the residual's slope in T_ho stays below -1 + eps (2.1/1909) 140 K < -0.8
#: (measured at 2000 Sobol points times 400 values of T_ho: between -1.000 and -0.947).  Solved
#: at the 32 corners and 10^5 Sobol points (bench/systems.py): T_ho in [280.0, 415.6] K, T_co in
#: [280.3, 356.8] K, the oil's mean temperature in [305, 418] K.  Physics bounds both by the
#: inlets (280-420 K); the ranges (260, 440) keep 20 K beyond.
oil_cooler = Relation(
    [
        sp.Eq(T_hi - T_ho, _counterflow * (T_hi - T_ci)),
        sp.Eq(_C_c * (T_co - T_ci), _C_h * (T_hi - T_ho)),
    ],
    bounds={T_hi: (330, 420), T_ci: (280, 310), m_h: (0.1, 1), m_c: (1, 3), UA: (100, 5000)},
    outputs={T_ho: (260, 440), T_co: (260, 440)},
    units={T_ho: "K", T_co: "K", T_hi: "K", T_ci: "K", m_h: "kg/s", m_c: "kg/s", UA: "W/K"},
    name="oil_cooler",
)

# -- a wall whose conductivity depends on temperature ---------------------------------------------

T_g, h_i, L_w, h_o, T_a = sp.symbols("T_g h_i L_w h_o T_a", positive=True)
T_1, T_2, q_w = sp.symbols("T_1 T_2 q_w", positive=True)
BRICK_K0, BRICK_K1 = 0.2, 2.5e-4  # k = K0 + K1 T, W/(m K), T in K

#: Heat flux q_w (W/m^2) through a furnace wall of insulating firebrick, k = 0.2 + 2.5e-4 T
#: W/(m K), and its inner and outer surface temperatures T_1, T_2: convection from the furnace
#: gas, q = h_i (T_g - T_1); conduction, q L = k0 (T_1 - T_2) + k1 (T_1^2 - T_2^2)/2 (the integral
#: of k dT, Kirchhoff's transform; Incropera sec. 3.1 for k(T)); convection to the room air,
#: q = h_o (T_2 - T_a).  One algebraic loop of three equations.  Inputs: T_g 800-1400 K, h_i
#: 20-200 W/(m^2 K), wall thickness L_w 0.05-0.4 m, h_o 5-40 W/(m^2 K), T_a 280-320 K.  Unique:
#: T_1 = T_g - q/h_i falls and T_2 = T_a + q/h_o rises with q, and the integral of k > 0 between
#: them falls strictly while q L_w rises.  Solved at the 32 corners and 10^5 Sobol points
#: (bench/systems.py): q_w in [342, 7644] W/m^2, T_1 in [686, 1395] K, T_2 in [290, 1029] K.
#: The ranges (200, 1.2e4), (550, 1450) and (275, 1200) keep a margin at each end (T_1 < T_g
#: <= 1400 K and T_2 > T_a >= 280 K by physics).
furnace_wall = Relation(
    [
        sp.Eq(q_w, h_i * (T_g - T_1)),
        sp.Eq(q_w * L_w, BRICK_K0 * (T_1 - T_2) + BRICK_K1 * (T_1**2 - T_2**2) / 2),
        sp.Eq(q_w, h_o * (T_2 - T_a)),
    ],
    bounds={T_g: (800, 1400), h_i: (20, 200), L_w: (0.05, 0.4), h_o: (5, 40), T_a: (280, 320)},
    outputs={q_w: (200, 1.2e4), T_1: (550, 1450), T_2: (275, 1200)},
    units={q_w: "W/m^2", T_1: "K", T_2: "K", T_g: "K", h_i: "W/(m^2*K)", L_w: "m", h_o: "W/(m^2*K)", T_a: "K"},
    name="furnace_wall",
)
