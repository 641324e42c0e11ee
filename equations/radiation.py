"""Radiation exchange between grey surfaces.

"Incropera" is T. L. Bergman, A. S. Lavine, F. P. Incropera and D. P. DeWitt,
Fundamentals of Heat and Mass Transfer, 7th ed., Wiley, 2011.  `SOURCES` holds the
source, the validity range and the accuracy for the datasheets.
"""

import sympy as sp

from surrogate import Relation

__all__ = ["grey_two_surface_exchange"]

STEFAN_BOLTZMANN = 5.670374419e-8  # W m^-2 K^-4 (CODATA 2018)

T_1, T_2, eps_1, eps_2, F_12, A_12, q_1 = sp.symbols("T_1 T_2 eps_1 eps_2 F_12 A_12 q_1")

SOURCES = {
    "grey_two_surface_exchange": {
        "source": "Incropera, 7th ed., Eq. 13.23 (two-surface enclosure of diffuse, grey, opaque "
                  "surfaces), divided by A_1; its special cases are Table 13.3",
        "validity": "diffuse grey opaque isothermal surfaces with uniform radiosity, non-participating "
                    "medium; any F_12 and A_1/A_2 consistent with reciprocity (F_21 = F_12 A_1/A_2 <= 1, "
                    "which holds when both are at most 1); chosen 250-1500 K, 0.05 <= eps <= 1, "
                    "0.1 <= F_12 <= 1, 0 <= A_1/A_2 <= 1",
        "accuracy": "exact for the model (diffuse grey surfaces, uniform radiosity on each)",
    },
}

#: A budget other than `surrogate build`'s default (400 Levenberg-Marquardt steps, seed 0): with the
#: resistance and log T_1, log T_2 among the features (docs/architecture.md, "Heads and features from
#: the formula"), 300 steps certified 5.1e-15; without them 400 steps certified 3.5e-3 and 1000, 3.0e-3.
BUILD = {"grey_two_surface_exchange": {"steps": 300}}

_RESISTANCE = (1 - eps_1) / eps_1 + 1 / F_12 + (1 - eps_2) / eps_2 * A_12

#: Net radiation leaving surface 1 for surface 2 in a two-surface enclosure of diffuse
#: grey surfaces, per unit area of surface 1 (W/m^2; Incropera, 7th ed., Eq. 13.23
#: divided by A_1): q_1 = sigma (T_1^4 - T_2^4) / [(1 - eps_1)/eps_1 + 1/F_12 + (1 - eps_2)/eps_2 * A_1/A_2],
#: A_12 = A_1/A_2.  Table 13.3's cases are F_12 = 1 with A_1/A_2 = 1 (large parallel
#: plates), r_1/r_2 (long concentric cylinders), (r_1/r_2)^2 (concentric spheres) and 0
#: (small convex object in a large cavity).  Chosen: T 250-1500 K, emissivities
#: 0.05-1, F_12 0.1-1, A_1/A_2 0-1 (any such pair obeys reciprocity, F_21 <= 1).  q_1
#: changes sign at T_1 = T_2, so errors are normalised by sigma (T_1^4 + T_2^4) over
#: the same resistance instead of by |q_1|.
grey_two_surface_exchange = Relation(
    sp.Eq(q_1, STEFAN_BOLTZMANN * (T_1**4 - T_2**4) / _RESISTANCE),
    bounds={T_1: (250, 1500), T_2: (250, 1500), eps_1: (0.05, 1), eps_2: (0.05, 1), F_12: (0.1, 1),
            A_12: (0, 1)},
    normalizer=STEFAN_BOLTZMANN * (T_1**4 + T_2**4) / _RESISTANCE,
    units={q_1: "W/m^2", T_1: "K", T_2: "K", eps_1: "", eps_2: "", F_12: "", A_12: ""},
    name="grey_two_surface_exchange",
)
