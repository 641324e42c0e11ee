"""Implicit relations and systems: outputs that no formula gives explicitly.

Each output range was chosen by solving (`surrogate.solve`) at the corners of the
domain and at 10^5 Sobol points, and widening the interval the roots cover, so that
exactly one root lies inside it everywhere with a margin (tests/test_solve.py
checks this).  The intervals quoted below are those measurements; the extremes sit
at corners of the domain.
"""

import sympy as sp

from surrogate import Relation

# parallel_pipes is declared here (the tests use it) and listed and shipped with the systems (equations/systems.py)
__all__ = ["colebrook", "surface_temperature", "mach_subsonic", "mach_supersonic"]

f, Re, eps = sp.symbols("f Re eps", positive=True)

#: Colebrook-White friction factor for turbulent flow in commercial pipes
#: (C. F. Colebrook, "Turbulent flow in pipes ...", J. Inst. Civil Eng. 11, 1939;
#: the basis of the Moody chart).  Re is the Reynolds number (fully turbulent
#: from about 4000; the Moody chart stops at 1e8), eps = k/D the relative
#: roughness (1e-6 drawn tubing to 0.05, the chart's roughest curve).  The right
#: side decreases monotonically in 1/sqrt(f), so the root is unique; over the
#: domain it lies in [0.0064, 0.0770] and the range (0.005, 0.1) keeps a margin
#: of about 1.3x at both ends.
colebrook = Relation(
    sp.Eq(1 / sp.sqrt(f), -2 * sp.log(eps / 3.7 + 2.51 / (Re * sp.sqrt(f)), 10)),
    bounds={Re: (4e3, 1e8), eps: (1e-6, 5e-2)},
    outputs={f: (5e-3, 0.1)},
    units={f: "", Re: "", eps: ""},
    name="colebrook",
)

q, h, T_inf, emissivity, T_s = sp.symbols("q h T_inf emissivity T_s", positive=True)
STEFAN_BOLTZMANN = 5.670374419e-8  # W m^-2 K^-4 (CODATA 2018)

#: Surface temperature of a plate that receives a heat flux q (W/m^2) and loses it
#: by convection (coefficient h, W/m^2/K, to a fluid at T_inf, K) and by radiation
#: (emissivity, grey surface, to surroundings at the fluid's temperature): the
#: surface energy balance of Incropera & DeWitt, Fundamentals of Heat and Mass
#: Transfer, sec. 1.3.1.  h from 2 (still air, natural convection) to 200 (forced
#: air); q up to 5 kW/m^2; T_inf 250-350 K.  The right side increases strictly in
#: T_s > 0, so the root is unique; it lies in [250.2, 1063] K, inside (200, 1200).
surface_temperature = Relation(
    sp.Eq(q, h * (T_s - T_inf) + emissivity * STEFAN_BOLTZMANN * (T_s**4 - T_inf**4)),
    bounds={q: (50, 5e3), h: (2, 200), T_inf: (250, 350), emissivity: (0.05, 0.95)},
    outputs={T_s: (200, 1200)},
    units={T_s: "K", q: "W/m^2", h: "W/(m^2*K)", T_inf: "K", emissivity: ""},
    name="surface_temperature",
)

area_ratio, gamma, M = sp.symbols("area_ratio gamma M", positive=True)
_AREA_MACH = sp.Eq(
    area_ratio,
    (1 / M) * ((2 / (gamma + 1)) * (1 + (gamma - 1) / 2 * M**2)) ** ((gamma + 1) / (2 * (gamma - 1))),
)

#: Mach number from the isentropic area ratio A/A* of a quasi-one-dimensional
#: nozzle flow, subsonic branch (J. D. Anderson, Modern Compressible Flow, eq. 5.20;
#: NACA Report 1135, eq. 80).  A/A* from 1.1 to 10, ratio of specific heats gamma
#: from 1.1 (heavy hydrocarbons) to 5/3 (monatomic gases).  A/A* falls strictly
#: with M on (0, 1), so the subsonic root is unique: it lies in [0.056, 0.705];
#: the range (0.03, 1) stops at the sonic point, which excludes the supersonic root.
mach_subsonic = Relation(
    _AREA_MACH,
    bounds={area_ratio: (1.1, 10), gamma: (1.1, 5 / 3)},
    outputs={M: (0.03, 1)},
    units={M: "", area_ratio: "", gamma: ""},
    name="mach_subsonic",
)

#: The supersonic branch of the same relation: A/A* rises strictly with M on
#: (1, inf), so the root in (1, 7) is unique; it lies in [1.335, 5.04].
mach_supersonic = Relation(
    _AREA_MACH,
    bounds={area_ratio: (1.1, 10), gamma: (1.1, 5 / 3)},
    outputs={M: (1, 7)},
    units={M: "", area_ratio: "", gamma: ""},
    name="mach_supersonic",
)

Q, D1, D2, L1, L2 = sp.symbols("Q D1 D2 L1 L2", positive=True)
Q1, Q2, f1, f2 = sp.symbols("Q1 Q2 f1 f2", positive=True)
WATER_VISCOSITY = 1.0e-6  # kinematic, m^2/s (water near 20 C)
STEEL_ROUGHNESS = 4.5e-5  # m, commercial steel (Moody 1944)


def _colebrook(friction, flow, diameter):
    reynolds_term = 2.51 * sp.pi * diameter * WATER_VISCOSITY / (4 * flow * sp.sqrt(friction))
    return sp.Eq(1 / sp.sqrt(friction), -2 * sp.log(STEEL_ROUGHNESS / (3.7 * diameter) + reynolds_term, 10))


#: Flow split between two steel pipes in parallel carrying water (a system: four
#: equations in Q1, Q2, f1, f2).  Continuity Q1 + Q2 = Q; equal Darcy-Weisbach
#: head loss across both, h = 8 f L Q^2 / (pi^2 g D^5), so f1 L1 Q1^2 / D1^5 =
#: f2 L2 Q2^2 / D2^5; Colebrook for each friction factor with Re = 4 Q / (pi D nu)
#: (White, Fluid Mechanics, sec. 6.9, "pipes in parallel").  Q from 0.05 to 0.5
#: m^3/s, D 0.1-0.3 m, L 100-1000 m.  The smaller share stays above 1.4 % of Q, so
#: Re stays above 9000 (turbulent, where Colebrook holds).  The head loss rises
#: strictly with the flow in each pipe, so the split is unique; the roots lie in
#: Q1, Q2 in [7.2e-4, 0.492] m^3/s (the range (3e-4, 0.5) is bounded above by Q)
#: and f1, f2 in [0.0136, 0.0323] (range (0.01, 0.04)).
parallel_pipes = Relation(
    [
        sp.Eq(Q1 + Q2, Q),
        sp.Eq(f1 * L1 * Q1**2 / D1**5, f2 * L2 * Q2**2 / D2**5),
        _colebrook(f1, Q1, D1),
        _colebrook(f2, Q2, D2),
    ],
    bounds={Q: (0.05, 0.5), D1: (0.1, 0.3), D2: (0.1, 0.3), L1: (100, 1000), L2: (100, 1000)},
    outputs={Q1: (3e-4, 0.5), Q2: (3e-4, 0.5), f1: (0.01, 0.04), f2: (0.01, 0.04)},
    # a friction factor must stay positive (sqrt(f)); less than a decade wide, it would be linear
    scales={f1: "log", f2: "log"},
    units={Q: "m^3/s", Q1: "m^3/s", Q2: "m^3/s", f1: "", f2: "", D1: "m", D2: "m", L1: "m", L2: "m"},
    name="parallel_pipes",
)
