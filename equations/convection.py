"""Convection inside tubes (forced) and on a vertical plate (natural).

Each relation gives a Nusselt number from dimensionless groups.  "Incropera" is
T. L. Bergman, A. S. Lavine, F. P. Incropera and D. P. DeWitt, Fundamentals of
Heat and Mass Transfer, 7th ed., Wiley, 2011.  `SOURCES` holds the source, the
validity range as the source states it (and what was chosen where it states
none) and the source's stated accuracy, for the datasheets.
"""

import sympy as sp

from surrogate import Relation


def _dimensionless(*symbols):
    """units= for symbols that are all dimensionless groups."""
    return dict.fromkeys(symbols, "")

__all__ = [
    "dittus_boelter_heating",
    "dittus_boelter_cooling",
    "sieder_tate",
    "gnielinski",
    "hausen_laminar_entry",
    "churchill_chu_vertical_plate",
]

Re, Pr, Nu, mu_ratio, L_D, Ra = sp.symbols("Re Pr Nu mu_ratio L_D Ra")
f = sp.Symbol("f")

SOURCES = {
    "dittus_boelter_heating": {
        "source": "Dittus & Boelter, Univ. Calif. Publ. Eng. 2, 443 (1930), in the form of Incropera, "
                  "7th ed., Eq. 8.60 (n = 0.4, heating: T_s > T_m)",
        "validity": "0.6 <= Pr <= 160, Re_D >= 10 000, L/D >= 10, smooth tube, fully developed turbulent "
                    "flow, moderate temperature differences; upper Re bound 1e6 chosen (none stated)",
        "accuracy": "errors as large as 25 % (Incropera, sec. 8.5)",
    },
    "dittus_boelter_cooling": {
        "source": "Dittus & Boelter (1930), in the form of Incropera, 7th ed., Eq. 8.60 (n = 0.3, "
                  "cooling: T_s < T_m)",
        "validity": "0.6 <= Pr <= 160, Re_D >= 10 000, L/D >= 10; upper Re bound 1e6 chosen (none stated)",
        "accuracy": "errors as large as 25 % (Incropera, sec. 8.5)",
    },
    "sieder_tate": {
        "source": "Sieder & Tate, Ind. Eng. Chem. 28, 1429 (1936), in the form of Incropera, 7th ed., "
                  "Eq. 8.61 (constant 0.027, as in Rohsenow's Handbook of Heat Transfer; some texts print "
                  "0.023 - Incropera's 0.027 is used)",
        "validity": "0.7 <= Pr <= 16 700, Re_D >= 10 000, L/D >= 10; upper Re bound 1e6 and "
                    "0.1 <= mu/mu_s <= 10 chosen (none stated)",
        "accuracy": "errors as large as 25 % (Incropera, sec. 8.5)",
    },
    "gnielinski": {
        "source": "Gnielinski, Int. Chem. Eng. 16, 359 (1976), Incropera, 7th ed., Eq. 8.62, with the "
                  "Petukhov friction factor f = (0.790 ln Re_D - 1.64)^-2 (Petukhov, Adv. Heat Transfer "
                  "6, 1970; Incropera Eq. 8.21)",
        "validity": "0.5 <= Pr <= 2000, 3000 <= Re_D <= 5e6 (smooth tube, fully developed)",
        "accuracy": "errors below 10 % (Incropera, sec. 8.5, against 25 % for Eqs. 8.60-8.61)",
    },
    "hausen_laminar_entry": {
        "source": "Hausen, Z. VDI Beih. Verfahrenstech. 4, 91 (1943), as given by Incropera, 7th ed., "
                  "Eq. 8.57 (average Nu over the length L, with Gz_D = (D/L) Re_D Pr)",
        "validity": "laminar flow, constant surface temperature, thermal entry length (velocity fully "
                    "developed, or Pr >= 5 for a combined entry); chosen ranges 100 <= Re_D <= 2300 "
                    "(Incropera's transition Re_D,c = 2300), 0.7 <= Pr <= 1000, 10 <= L/D <= 1000",
        "accuracy": "not stated by the source",
    },
    "churchill_chu_vertical_plate": {
        "source": "Churchill & Chu, Int. J. Heat Mass Transfer 18, 1323 (1975), Incropera, 7th ed., "
                  "Eq. 9.26 (isothermal vertical plate, full range)",
        "validity": "the entire range of Ra_L (Incropera); 'all Ra and Pr' (Churchill & Chu's abstract); "
                    "chosen 0.1 <= Ra_L <= 1e12 and 0.01 <= Pr <= 1000",
        "accuracy": "not stated by Incropera",
    },
}


def _dittus_boelter(n):
    return sp.Eq(Nu, 0.023 * Re ** sp.Rational(4, 5) * Pr**n)


#: Dittus-Boelter, heating of the fluid (T_s > T_m): Nu = 0.023 Re^(4/5) Pr^0.4.
#: Incropera, 7th ed., Eq. 8.60; 0.6 <= Pr <= 160, Re >= 10 000, L/D >= 10 (upper Re
#: 1e6 chosen); errors as large as 25 %.
dittus_boelter_heating = Relation(
    _dittus_boelter(sp.Rational(2, 5)),
    bounds={Re: (1e4, 1e6), Pr: (0.6, 160)},
    units=_dimensionless(Nu, Re, Pr),
    name="dittus_boelter_heating",
)

#: Dittus-Boelter, cooling of the fluid (T_s < T_m): Nu = 0.023 Re^(4/5) Pr^0.3.
#: Incropera, 7th ed., Eq. 8.60; same range and accuracy as for heating.
dittus_boelter_cooling = Relation(
    _dittus_boelter(sp.Rational(3, 10)),
    bounds={Re: (1e4, 1e6), Pr: (0.6, 160)},
    units=_dimensionless(Nu, Re, Pr),
    name="dittus_boelter_cooling",
)

#: Sieder-Tate: Nu = 0.027 Re^(4/5) Pr^(1/3) (mu/mu_s)^0.14, mu_ratio = mu/mu_s
#: (bulk over surface viscosity).  Incropera, 7th ed., Eq. 8.61, which prints 0.027
#: (as does Rohsenow's Handbook of Heat Transfer, per Bell's ht; other texts print
#: 0.023, and ht notes the source of the discrepancy is unknown; 0.027 is used).
#: 0.7 <= Pr <= 16 700, Re >= 10 000, L/D >= 10; Re up to 1e6 and mu/mu_s in
#: [0.1, 10] chosen.  Errors as large as 25 %.
sieder_tate = Relation(
    sp.Eq(Nu, 0.027 * Re ** sp.Rational(4, 5) * Pr ** sp.Rational(1, 3)
          * mu_ratio ** 0.14),
    bounds={Re: (1e4, 1e6), Pr: (0.7, 16700), mu_ratio: (0.1, 10)},
    units=_dimensionless(Nu, Re, Pr, mu_ratio),
    name="sieder_tate",
)

_PETUKHOV = (0.790 * sp.log(Re) - 1.64) ** -2

#: Gnielinski with the Petukhov friction factor substituted:
#: Nu = (f/8)(Re - 1000) Pr / (1 + 12.7 (f/8)^(1/2) (Pr^(2/3) - 1)),
#: f = (0.790 ln Re - 1.64)^-2.  Incropera, 7th ed., Eqs. 8.62 and 8.21 (Gnielinski
#: 1976; Petukhov 1970).  0.5 <= Pr <= 2000, 3000 <= Re <= 5e6; errors below 10 %.
gnielinski = Relation(
    sp.Eq(Nu, ((f / 8) * (Re - 1000) * Pr
               / (1 + 12.7 * sp.sqrt(f / 8) * (Pr ** sp.Rational(2, 3) - 1))).subs(f, _PETUKHOV)),
    bounds={Re: (3e3, 5e6), Pr: (0.5, 2000)},
    units=_dimensionless(Nu, Re, Pr),
    name="gnielinski",
)

_GZ = Re * Pr / L_D

#: Hausen, laminar thermal entry length, constant surface temperature, average over
#: the tube length: Nu = 3.66 + 0.0668 Gz / (1 + 0.04 Gz^(2/3)), Gz = (D/L) Re Pr,
#: L_D = L/D.  Incropera, 7th ed., Eq. 8.57 (Hausen 1943).  Velocity fully developed
#: (or Pr >= 5 for a combined entry).  Ranges chosen: Re 100-2300 (laminar), Pr
#: 0.7-1000, L/D 10-1000.  No accuracy stated.
hausen_laminar_entry = Relation(
    sp.Eq(Nu, 3.66 + 0.0668 * _GZ / (1 + 0.04 * _GZ ** sp.Rational(2, 3))),
    bounds={Re: (100, 2300), Pr: (0.7, 1000), L_D: (10, 1000)},
    units=_dimensionless(Nu, Re, Pr, L_D),
    name="hausen_laminar_entry",
)

#: Churchill-Chu, natural convection on an isothermal vertical plate, one formula for
#: laminar and turbulent flow: Nu = {0.825 + 0.387 Ra^(1/6) / [1 + (0.492/Pr)^(9/16)]^(8/27)}^2.
#: Incropera, 7th ed., Eq. 9.26 ("entire range of Ra_L"; Churchill & Chu 1975: "all Ra
#: and Pr").  Chosen: Ra 0.1-1e12, Pr 0.01-1000.  No accuracy stated.
churchill_chu_vertical_plate = Relation(
    sp.Eq(Nu, (0.825 + 0.387 * Ra ** sp.Rational(1, 6)
               / (1 + (0.492 / Pr) ** sp.Rational(9, 16)) ** sp.Rational(8, 27)) ** 2),
    bounds={Ra: (0.1, 1e12), Pr: (0.01, 1000)},
    units=_dimensionless(Nu, Ra, Pr),
    name="churchill_chu_vertical_plate",
)
