"""Pipe flow: explicit friction factors beside Colebrook (equations.implicit), and a
pump-pipe operating point with Colebrook inside.

f is the Darcy friction factor, eps_D = k_s/D the relative roughness.  "White" is
F. M. White, Fluid Mechanics, 7th ed., McGraw-Hill, 2011.  `SOURCES` holds the
source, the validity range and the accuracy for the datasheets.
"""

import sympy as sp

from surrogate import Relation


def _dimensionless(*symbols):
    """units= for symbols that are all dimensionless groups."""
    return dict.fromkeys(symbols, "")

__all__ = ["haaland", "swamee_jain", "pump_pipe_operating_point"]

Re, eps_D, f = sp.symbols("Re eps_D f")

SOURCES = {
    "haaland": {
        "source": "S. E. Haaland, J. Fluids Eng. 105, 89 (1983); White, 7th ed., Eq. 6.49",
        "validity": "4000 <= Re <= 1e8, 1e-6 <= eps/D <= 0.05, as quoted by Winning & Coole, Flow "
                    "Turbul. Combust. 90, 1 (2013) and Bell's fluids (the turbulent range of Colebrook's "
                    "formula it approximates)",
        "accuracy": "within 2 % of Colebrook (White); measured here: at most 1.4 %",
    },
    "swamee_jain": {
        "source": "P. K. Swamee & A. K. Jain, J. Hydraul. Div. ASCE 102(HY5), 657 (1976), in its original "
                  "form f = 1.325 / [ln(eps/(3.7 D) + 5.74/Re^0.9)]^2 (often printed as 0.25 / [log10(...)]^2, "
                  "0.04 % lower)",
        "validity": "5000 <= Re <= 1e8, 1e-6 <= eps/D <= 1e-2 (Swamee & Jain; some later sources, e.g. "
                    "Winning & Coole 2013, quote eps/D up to 0.05)",
        "accuracy": "about 1 % of Colebrook as usually quoted for the paper; measured here against "
                    "Colebrook: up to 2.8 % (at Re = 5000, eps/D = 0.01), below 1.6 % for eps/D <= 1e-3",
    },
    "pump_pipe_operating_point": {
        "source": "pump curve H = H0 - k Q^2 against the system curve H = dz + f (L/D) 8 Q^2/(pi^2 g D^4) "
                  "(Darcy-Weisbach), with Colebrook's friction factor (White, 7th ed., Eq. 6.48); the "
                  "operating point where the pump and system curves cross (White, ch. 11)",
        "validity": "water at 20 C (nu = 1.0e-6 m^2/s), k = 4000 s^2/m^5 (one pump; H0 sets its speed "
                    "through the affinity laws), static lift dz = 10 m, no minor losses; chosen 20 <= H0 "
                    "<= 80 m, 50 <= L <= 2000 m, 0.05 <= D <= 0.3 m, 1.5e-6 <= k_s <= 2.6e-4 m (drawn "
                    "tubing to cast iron); Re stays within 1.8e4-1.2e6 (turbulent) everywhere",
        "accuracy": "that of Colebrook's formula (about 15 % on f, White) and of the pump curve",
    },
}

#: Budgets other than `surrogate build`'s default (400 Levenberg-Marquardt steps, seed 0): the
#: pump-pipe system's steps cost ~0.55 CPU s each (two equations, two outputs); 800 keep it within
#: issue 23's ten CPU-minutes (equations/systems.py budgets the other systems alike).
BUILD = {"pump_pipe_operating_point": {"steps": 800}}

#: Haaland's explicit friction factor (J. Fluids Eng. 105, 1983; White, Fluid Mechanics,
#: 7th ed., Eq. 6.49): 1/sqrt(f) = -1.8 log10[(eps_D/3.7)^1.11 + 6.9/Re].  Over the
#: range of Colebrook's formula, 4000 <= Re <= 1e8, 1e-6 <= eps_D <= 0.05; within 2 %
#: of Colebrook (White).
haaland = Relation(
    sp.Eq(f, (-1.8 * sp.log((eps_D / 3.7) ** 1.11 + 6.9 / Re, 10)) ** -2),
    bounds={Re: (4e3, 1e8), eps_D: (1e-6, 0.05)},
    units=_dimensionless(f, Re, eps_D),
    name="haaland",
)

#: Swamee-Jain explicit friction factor, original form (J. Hydraul. Div. ASCE 102,
#: 1976): f = 1.325 / [ln(eps_D/3.7 + 5.74/Re^0.9)]^2 (the common 0.25/[log10()]^2
#: rounds 1.325/ln(10)^2 = 0.24991).  5000 <= Re <= 1e8, 1e-6 <= eps_D <= 1e-2 as the
#: paper states; usually quoted within 1 % of Colebrook, but it departs by up to 2.8 %
#: at the corner Re = 5000, eps_D = 0.01.
swamee_jain = Relation(
    sp.Eq(f, 1.325 / sp.log(eps_D / 3.7 + 5.74 / Re**0.9) ** 2),
    bounds={Re: (5e3, 1e8), eps_D: (1e-6, 1e-2)},
    units=_dimensionless(f, Re, eps_D),
    name="swamee_jain",
)

H0, L, D, k_s, Q = sp.symbols("H0 L D k_s Q")
GRAVITY = 9.80665  # m/s^2
WATER_VISCOSITY = 1.0e-6  # kinematic, m^2/s (water near 20 C)
PUMP_K = 4000  # s^2/m^5: H = H0 - PUMP_K Q^2
STATIC_LIFT = 10  # m

#: Operating point of a centrifugal pump on a single pipe: a system in the flow Q (m^3/s)
#: and the Darcy friction factor f.  Head balance H0 - k Q^2 = dz + f (L/D) 8 Q^2/(pi^2 g D^4)
#: (pump curve against static lift plus Darcy-Weisbach loss), and Colebrook for f with
#: Re = 4 Q/(pi D nu) (White, Fluid Mechanics, 7th ed., Eq. 6.48 and ch. 11).
#: Chosen data: water (nu = 1e-6 m^2/s), k = 4000 s^2/m^5, dz = 10 m, no minor losses.
#: Inputs: shut-off head H0 20-80 m (one pump at different speeds: the affinity laws
#: scale H0 with speed squared and leave k unchanged), pipe length L 50-2000 m, diameter
#: D 0.05-0.3 m, absolute roughness k_s 1.5e-6 (drawn tubing) to 2.6e-4 m (cast iron).
#: The pump head falls and the system head rises strictly with Q, and Colebrook has one
#: root in f, so the operating point is unique.  Solved at a 13^4 grid and 10^5 Sobol
#: points: Q in [7.35e-4, 0.1319] m^3/s (the extremes at corners; Q can never pass
#: sqrt((80 - 10)/4000) = 0.132), f in [0.0117, 0.0350], Re in [1.8e4, 1.2e6].  The
#: ranges (3e-4, 0.2) and (0.008, 0.05) keep a margin of 1.4x or more at each end.
pump_pipe_operating_point = Relation(
    [
        sp.Eq(H0 - PUMP_K * Q**2, STATIC_LIFT + f * L / D * 8 * Q**2 / (sp.pi**2 * GRAVITY * D**4)),
        sp.Eq(1 / sp.sqrt(f), -2 * sp.log(k_s / (3.7 * D) + 2.51 * sp.pi * D * WATER_VISCOSITY / (4 * Q * sp.sqrt(f)), 10)),
    ],
    bounds={H0: (20, 80), L: (50, 2000), D: (0.05, 0.3), k_s: (1.5e-6, 2.6e-4)},
    outputs={Q: (3e-4, 0.2), f: (0.008, 0.05)},
    units={Q: "m^3/s", f: "", H0: "m", L: "m", D: "m", k_s: "m"},
    name="pump_pipe_operating_point",
)
