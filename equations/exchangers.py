"""Heat exchangers: effectiveness-NTU relations and the log-mean temperature difference.

"Incropera" is T. L. Bergman, A. S. Lavine, F. P. Incropera and D. P. DeWitt,
Fundamentals of Heat and Mass Transfer, 7th ed., Wiley, 2011.  NTU = UA/C_min and
Cr = C_min/C_max.  `SOURCES` holds the source, the validity range and the accuracy
for the datasheets.
"""

import sympy as sp

from surrogate import Relation


def _dimensionless(*symbols):
    """units= for symbols that are all dimensionless groups."""
    return dict.fromkeys(symbols, "")

__all__ = [
    "counterflow_effectiveness",
    "parallel_flow_effectiveness",
    "crossflow_unmixed_effectiveness",
    "crossflow_cmax_mixed_effectiveness",
    "lmtd",
]

NTU, Cr, epsilon = sp.symbols("NTU Cr epsilon")
dT1, dT2, dT_lm = sp.symbols("dT1 dT2 dT_lm")

_NTU_RANGE = (0.01, 5)
_EXACT = "exact for the idealised exchanger (constant U and heat capacity rates, no losses)"
_RANGE = "0 <= Cr <= 1 by definition; NTU from 0.01 to 5 chosen (Incropera's effectiveness charts span 0-5)"

SOURCES = {
    "counterflow_effectiveness": {
        "source": "Incropera, 7th ed., Table 11.3, Eq. 11.29a (Cr < 1) and its Cr = 1 form NTU/(1 + NTU)",
        "validity": _RANGE,
        "accuracy": _EXACT,
    },
    "parallel_flow_effectiveness": {
        "source": "Incropera, 7th ed., Table 11.3, Eq. 11.28a",
        "validity": _RANGE,
        "accuracy": _EXACT,
    },
    "crossflow_unmixed_effectiveness": {
        "source": "Incropera, 7th ed., Table 11.3, Eq. 11.32 (single-pass cross flow, both fluids "
                  "unmixed): an approximation to the series solution (Mason 1954; Kays & London, Compact "
                  "Heat Exchangers)",
        "validity": _RANGE + "; the limit Cr -> 0 is 1 - exp(-NTU)",
        "accuracy": "not stated by Incropera; against the exact solution it is off by up to 0.011 in "
                    "epsilon (3 %) at Cr = 1, NTU = 0.5 (measured with the exact integral of ht 1.2.0)",
    },
    "crossflow_cmax_mixed_effectiveness": {
        "source": "Incropera, 7th ed., Table 11.3, Eq. 11.33a (single-pass cross flow, C_max mixed, "
                  "C_min unmixed)",
        "validity": _RANGE + "; the limit Cr -> 0 is 1 - exp(-NTU)",
        "accuracy": _EXACT,
    },
    "lmtd": {
        "source": "Incropera, 7th ed., Eq. 11.15: dT_lm = (dT2 - dT1)/ln(dT2/dT1), with the end "
                  "temperature differences dT1 and dT2 (the same form holds for counterflow, with its own "
                  "end differences)",
        "validity": "dT1, dT2 > 0; chosen 1 K to 100 K each; the limit dT1 -> dT2 is dT1",
        "accuracy": "exact for constant U and heat capacity rates",
    },
}

_E = sp.exp(-NTU * (1 - Cr))

#: Counterflow: epsilon = [1 - exp(-NTU(1 - Cr))] / [1 - Cr exp(-NTU(1 - Cr))] for Cr < 1
#: and NTU / (1 + NTU) at Cr = 1 (Incropera, 7th ed., Table 11.3, Eq. 11.29a), the
#: limit of the first form as Cr -> 1.  0 <= Cr <= 1; NTU 0.01-5 chosen.
counterflow_effectiveness = Relation(
    sp.Eq(epsilon, sp.Piecewise(((1 - _E) / (1 - Cr * _E), Cr < 1), (NTU / (1 + NTU), True))),
    bounds={NTU: _NTU_RANGE, Cr: (0, 1)},
    units=_dimensionless(epsilon, NTU, Cr),
    name="counterflow_effectiveness",
)

#: Parallel flow: epsilon = [1 - exp(-NTU(1 + Cr))] / (1 + Cr) (Incropera, 7th ed.,
#: Table 11.3, Eq. 11.28a).  0 <= Cr <= 1; NTU 0.01-5 chosen.
parallel_flow_effectiveness = Relation(
    sp.Eq(epsilon, (1 - sp.exp(-NTU * (1 + Cr))) / (1 + Cr)),
    bounds={NTU: _NTU_RANGE, Cr: (0, 1)},
    units=_dimensionless(epsilon, NTU, Cr),
    name="parallel_flow_effectiveness",
)

#: Single-pass cross flow, both fluids unmixed (Incropera, 7th ed., Table 11.3, Eq.
#: 11.32): epsilon = 1 - exp[(1/Cr) NTU^0.22 {exp[-Cr NTU^0.78] - 1}], an approximation
#: of the exact series (off by up to 0.011 at Cr = 1, NTU = 0.5).  The limit at Cr -> 0
#: is 1 - exp(-NTU) (removable singularity).  0 <= Cr <= 1; NTU 0.01-5 chosen.
crossflow_unmixed_effectiveness = Relation(
    sp.Eq(epsilon, 1 - sp.exp(NTU**0.22 * (sp.exp(-Cr * NTU**0.78) - 1) / Cr)),
    bounds={NTU: _NTU_RANGE, Cr: (0, 1)},
    units=_dimensionless(epsilon, NTU, Cr),
    name="crossflow_unmixed_effectiveness",
)

#: Single-pass cross flow, C_max mixed and C_min unmixed (Incropera, 7th ed., Table
#: 11.3, Eq. 11.33a): epsilon = (1/Cr) {1 - exp[-Cr (1 - exp(-NTU))]}.  The limit at
#: Cr -> 0 is 1 - exp(-NTU) (removable singularity).  0 <= Cr <= 1; NTU 0.01-5 chosen.
crossflow_cmax_mixed_effectiveness = Relation(
    sp.Eq(epsilon, (1 - sp.exp(-Cr * (1 - sp.exp(-NTU)))) / Cr),
    bounds={NTU: _NTU_RANGE, Cr: (0, 1)},
    units=_dimensionless(epsilon, NTU, Cr),
    name="crossflow_cmax_mixed_effectiveness",
)

#: Log-mean temperature difference: dT_lm = (dT1 - dT2) / ln(dT1/dT2) (Incropera, 7th
#: ed., Eq. 11.15, for parallel flow and counterflow alike; symmetric in dT1 and dT2).  dT1 = dT2 is a removable
#: singularity (the limit is dT1).  1 K to 100 K chosen for each difference.
lmtd = Relation(
    sp.Eq(dT_lm, (dT1 - dT2) / sp.log(dT1 / dT2)),
    bounds={dT1: (1, 100), dT2: (1, 100)},
    # temperature differences: a pint Quantity of one is in K or delta_degC (degC would add 273.15)
    units={dT_lm: "K", dT1: "K", dT2: "K"},
    name="lmtd",
)
