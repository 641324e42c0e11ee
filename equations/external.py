"""External forced convection: cylinders and flat plates in cross or parallel flow,
and spheres (drops, particles).

"Incropera" is T. L. Bergman, A. S. Lavine, F. P. Incropera and D. P. DeWitt,
Fundamentals of Heat and Mass Transfer, 7th ed., Wiley, 2011.  `SOURCES` holds the
source, the validity range as the source states it (and what was chosen where it
states none) and the source's stated accuracy, for the datasheets.
"""

import sympy as sp

from surrogate import Relation


def _dimensionless(*symbols):
    """units= for symbols that are all dimensionless groups."""
    return dict.fromkeys(symbols, "")

__all__ = ["churchill_bernstein", "hilpert_cylinder", "flat_plate_average", "ranz_marshall"]

Re, Pr, Nu = sp.symbols("Re Pr Nu")

_TWENTY_PERCENT = ("for most engineering calculations one should not expect accuracy much better than "
                   "20 % (Incropera, sec. 7.4, of the cylinder correlations)")

SOURCES = {
    "churchill_bernstein": {
        "source": "Churchill & Bernstein, J. Heat Transfer 99, 300 (1977); Incropera, 7th ed., Eq. 7.54 "
                  "(circular cylinder in cross flow, properties at the film temperature)",
        "validity": "all Re_D Pr >= 0.2 (Incropera); chosen 0.01 <= Pr <= 1000 and Re_D <= 1e7",
        "accuracy": _TWENTY_PERCENT,
    },
    "hilpert_cylinder": {
        "source": "Hilpert, Forsch. Geb. Ingenieurwes. 4, 215 (1933), with the constants of Knudsen & "
                  "Katz (1958) as printed in Incropera, 7th ed., Eq. 7.52 and Table 7.2",
        "validity": "0.4 <= Re_D <= 400 000 (Table 7.2), Pr >= 0.7; upper Pr bound 500 chosen",
        "accuracy": _TWENTY_PERCENT,
    },
    "flat_plate_average": {
        "source": "Incropera, 7th ed., Eq. 7.30 (laminar, Re_L < 5e5) and Eq. 7.38 (mixed laminar and "
                  "turbulent boundary layer, transition at Re_x,c = 5e5); isothermal plate",
        "validity": "Eq. 7.30: Pr >= 0.6; Eq. 7.38: 0.6 <= Pr <= 60, 5e5 <= Re_L <= 1e8; the common range "
                    "0.6 <= Pr <= 60 is used, lower Re_L bound 1e3 chosen (boundary-layer theory)",
        "accuracy": "Eq. 7.30 is the similarity solution of laminar boundary-layer theory; the 0.07 % jump "
                    "at Re_L = 5e5 between the two pieces is the source's; no accuracy stated for Eq. 7.38",
    },
    "ranz_marshall": {
        "source": "Ranz & Marshall, Chem. Eng. Prog. 48, 141 and 173 (1952), 'Evaporation from drops'; "
                  "Incropera, 7th ed., Eq. 7.57 (freely falling liquid drops)",
        "validity": "0 <= Re_D <= 200, the range Ranz & Marshall studied (they report that the correlation "
                    "extrapolates to about 5 times that); Pr not stated, 0.6 <= Pr <= 250 chosen (their "
                    "drops were in air, Pr about 0.7)",
        "accuracy": "not stated by the source",
    },
}

#: Churchill-Bernstein, circular cylinder in cross flow, all Re:
#: Nu = 0.3 + 0.62 Re^(1/2) Pr^(1/3) / [1 + (0.4/Pr)^(2/3)]^(1/4) [1 + (Re/282 000)^(5/8)]^(4/5).
#: Incropera, 7th ed., Eq. 7.54 (Churchill & Bernstein 1977): valid for Re Pr >= 0.2,
#: hence the lower bound 0.2/Pr on Re.  Pr 0.01-1000 and Re <= 1e7 chosen.  Accuracy:
#: not better than about 20 % (Incropera, sec. 7.4).
churchill_bernstein = Relation(
    sp.Eq(Nu, 0.3 + 0.62 * Re ** sp.Rational(1, 2) * Pr ** sp.Rational(1, 3)
          / (1 + (0.4 / Pr) ** sp.Rational(2, 3)) ** sp.Rational(1, 4)
          * (1 + (Re / 282000) ** sp.Rational(5, 8)) ** sp.Rational(4, 5)),
    bounds={Pr: (0.01, 1000), Re: (0.2 / Pr, 1e7)},
    units=_dimensionless(Nu, Re, Pr),
    name="churchill_bernstein",
)

# Table 7.2 of Incropera (Hilpert's constants as revised by Knudsen & Katz): upper
# end of each Re_D band, C, m.
_HILPERT_TABLE = ((4, 0.989, 0.330), (40, 0.911, 0.385), (4000, 0.683, 0.466),
                  (40000, 0.193, 0.618), (400000, 0.027, 0.805))

#: Hilpert, circular cylinder in cross flow: Nu = C Re^m Pr^(1/3) with C and m banded in
#: Re (Incropera, 7th ed., Eq. 7.52 and Table 7.2): 0.4-4: 0.989, 0.330; 4-40: 0.911,
#: 0.385; 40-4000: 0.683, 0.466; 4000-40 000: 0.193, 0.618; 40 000-400 000: 0.027,
#: 0.805.  Pr >= 0.7 (upper bound 500 chosen).  The bands join with jumps of up to
#: 1.5 % (at Re = 40 000), as in the source.  Accuracy: not better than about 20 %.
hilpert_cylinder = Relation(
    sp.Eq(Nu, sp.Piecewise(
        *[(c * Re ** sp.Float(m) * Pr ** sp.Rational(1, 3), Re < upper) for upper, c, m in _HILPERT_TABLE[:-1]],
        (_HILPERT_TABLE[-1][1] * Re ** sp.Float(_HILPERT_TABLE[-1][2]) * Pr ** sp.Rational(1, 3), True),
    )),
    bounds={Re: (0.4, 4e5), Pr: (0.7, 500)},
    units=_dimensionless(Nu, Re, Pr),
    name="hilpert_cylinder",
)

#: Average Nusselt number of an isothermal flat plate in parallel flow: laminar
#: Nu = 0.664 Re^(1/2) Pr^(1/3) below Re_L = 5e5 (Incropera, 7th ed., Eq. 7.30, Pr >=
#: 0.6), mixed laminar-turbulent Nu = (0.037 Re^(4/5) - 871) Pr^(1/3) above it (Eq.
#: 7.38, 0.6 <= Pr <= 60, Re_L <= 1e8, transition Re_x,c = 5e5).  Lower Re bound 1e3
#: chosen.  The pieces differ by 0.07 % at Re = 5e5, as in the source.
flat_plate_average = Relation(
    sp.Eq(Nu, sp.Piecewise(
        (0.664 * Re ** sp.Rational(1, 2) * Pr ** sp.Rational(1, 3), Re < 5e5),
        ((0.037 * Re ** sp.Rational(4, 5) - 871) * Pr ** sp.Rational(1, 3), True),
    )),
    bounds={Re: (1e3, 1e8), Pr: (0.6, 60)},
    units=_dimensionless(Nu, Re, Pr),
    name="flat_plate_average",
)

#: Ranz-Marshall, sphere (freely falling drop): Nu = 2 + 0.6 Re^(1/2) Pr^(1/3).
#: Ranz & Marshall, Chem. Eng. Prog. 48 (1952); Incropera, 7th ed., Eq. 7.57.  Their
#: study covered 0 <= Re <= 200 (drops in air); Pr 0.6-250 chosen.  No accuracy stated.
ranz_marshall = Relation(
    sp.Eq(Nu, 2 + 0.6 * Re ** sp.Rational(1, 2) * Pr ** sp.Rational(1, 3)),
    bounds={Re: (0, 200), Pr: (0.6, 250)},
    units=_dimensionless(Nu, Re, Pr),
    name="ranz_marshall",
)
