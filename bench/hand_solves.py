"""Hand-written vectorised NumPy solves of the shipped systems: what an engineer who knows the
equations would write instead of a surrogate (bench/saving.py times them beside it).

Each takes the inputs as columns ({name: array}) and returns the outputs ({name: array}), for every
row at once.  Each reduces its system by hand to as few unknowns as the equations allow and runs
Newton on them, the derivative a forward difference of 1e-7 of the unknown (real arithmetic: the
complex step, exact to rounding, was 2-3x slower through NumPy's complex arithmetic; an inexact slope
only adds an iteration near the root, whose accuracy is that of g), iterating all rows together
until every step is below 1e-14 of its unknown; Colebrook's friction factor at a known Reynolds number is Clamond's exact solution
(bench/speed.py), and the furnace wall's flux is the root of a quadratic.  No bracket, no status: the
starts are the engineer's (a friction factor of 0.02, a flow split by D^2.5/sqrt(L)), good over the
declared domains, where bench/saving.py checks that every row agrees with the package's solve.

The formulas come from the declarations (equations/pipe_flow.py, equations/implicit.py,
equations/systems.py): their constants and their plain-arithmetic helpers are imported, not copied.
"""

from __future__ import annotations

import numpy as np
from speed import clamond

from equations import implicit, pipe_flow, systems

LN10 = np.log(10.0)
#: Newton stops when every row's step is below this, relative to its unknown.
TOL = 1e-14
MAX_ITER = 60


#: The forward difference's step, relative to the unknown.
DELTA = 1e-7


def _slope(fn, z):
    """fn(z) and its forward-difference derivative."""
    v, h = fn(z), DELTA * np.abs(z)
    return v, (fn(z + h) - v) / h


def newton(g, z: np.ndarray) -> np.ndarray:
    """Roots of g near z, all rows at once."""
    z = np.asarray(z, dtype=np.float64)
    for _ in range(MAX_ITER):
        gz, slope = _slope(g, z)
        step = gz / slope
        z = z - step
        if np.all(np.abs(step) <= TOL * np.abs(z)):
            break
    return z


def newton_log(g, z: np.ndarray) -> np.ndarray:
    """`newton` on log z: for a positive unknown over several decades."""
    return np.exp(newton(lambda u: g(np.exp(u)), np.log(z)))


def _darcy_head(friction, flow, diameter, length):
    """Darcy-Weisbach head loss (m), 8 f L Q^2 / (pi^2 g D^5)."""
    return 8 * friction * length * flow**2 / (np.pi**2 * systems.GRAVITY * diameter**5)


# -- pipe_flow.pump_pipe_operating_point -------------------------------------------------------------
def pump_pipe_operating_point(c: dict) -> dict:
    """Newton on Q of pump head minus system head, f(Q) by Clamond at Re = 4 Q/(pi D nu)."""
    H0, L, D, k_s = c["H0"], c["L"], c["D"], c["k_s"]

    def friction(Q):
        return clamond(4 * Q / (np.pi * D * pipe_flow.WATER_VISCOSITY), k_s / D)

    def g(Q):
        return H0 - pipe_flow.PUMP_K * Q**2 - pipe_flow.STATIC_LIFT - _darcy_head(friction(Q), Q, D, L)

    per_flow = _darcy_head(0.02, 1.0, D, L)
    Q = newton(g, np.sqrt((H0 - pipe_flow.STATIC_LIFT) / (pipe_flow.PUMP_K + per_flow)))
    return {"Q": Q, "f": friction(Q)}


# -- implicit.parallel_pipes ---------------------------------------------------------------------------
def _colebrook_flow(head, diameter, length):
    """The flow (m^3/s) that a head loss drives through a steel pipe, explicit in Colebrook's form:
    with s = sqrt(f) V = sqrt(2 g D h / L), V = -2 s log10(k/(3.7 D) + 2.51 nu/(D s))."""
    s = np.sqrt(2 * systems.GRAVITY * diameter * head / length)
    speed = -2 * s * np.log(implicit.STEEL_ROUGHNESS / (3.7 * diameter) + 2.51 * implicit.WATER_VISCOSITY
                            / (diameter * s)) / LN10
    return speed * np.pi * diameter**2 / 4


def parallel_pipes(c: dict) -> dict:
    """Newton on log of the common head loss h: Q1(h) + Q2(h) = Q, each explicit by Colebrook."""
    Q, D1, D2, L1, L2 = c["Q"], c["D1"], c["D2"], c["L1"], c["L2"]
    w1, w2 = D1**2.5 / np.sqrt(L1), D2**2.5 / np.sqrt(L2)
    h0 = _darcy_head(0.02, Q * w1 / (w1 + w2), D1, L1)
    h = newton_log(lambda h: _colebrook_flow(h, D1, L1) + _colebrook_flow(h, D2, L2) - Q, h0)
    Q1, Q2 = _colebrook_flow(h, D1, L1), _colebrook_flow(h, D2, L2)

    def friction(flow, diameter, length):
        return h / _darcy_head(1.0, flow, diameter, length)
    return {"Q1": Q1, "Q2": Q2, "f1": friction(Q1, D1, L1), "f2": friction(Q2, D2, L2)}


# -- systems.looped_pipes --------------------------------------------------------------------------
def _swamee_jain_head(flow, diameter, length):
    reynolds = 4 * flow / (np.pi * diameter * systems.WATER_VISCOSITY)
    f = 0.25 / (np.log(systems.STEEL_ROUGHNESS / (3.7 * diameter) + 5.74 / reynolds**0.9) / LN10) ** 2
    return _darcy_head(f, flow, diameter, length)


def looped_pipes(c: dict) -> dict:
    """Hardy Cross's unknowns as a 2x2 Newton: Q1, Q2 (Q3 = Q - Q1 - Q2) with h1 = h3 and h2 = h3."""
    Q, D = c["Q"], (c["D1"], c["D2"], c["D3"])
    L = systems.PIPE_LENGTHS
    w = [d**2.5 / np.sqrt(l_i) for d, l_i in zip(D, L)]
    Q1, Q2 = Q * w[0] / sum(w), Q * w[1] / sum(w)
    for _ in range(MAX_ITER):
        Q3 = Q - Q1 - Q2
        h1, a = _slope(lambda q: _swamee_jain_head(q, D[0], L[0]), Q1)
        h2, b = _slope(lambda q: _swamee_jain_head(q, D[1], L[1]), Q2)
        h3, e = _slope(lambda q: _swamee_jain_head(q, D[2], L[2]), Q3)
        r1, r2 = h1 - h3, h2 - h3
        # d(r1, r2)/d(Q1, Q2) = [[a + e, e], [e, b + e]]
        det = (a + e) * (b + e) - e * e
        s1 = ((b + e) * r1 - e * r2) / det
        s2 = ((a + e) * r2 - e * r1) / det
        Q1, Q2 = Q1 - s1, Q2 - s2
        if np.all(np.abs(s1) <= TOL * Q1) and np.all(np.abs(s2) <= TOL * Q2):
            break
    return {"Q1": Q1, "Q2": Q2, "Q3": Q - Q1 - Q2, "h_L": _swamee_jain_head(Q1, D[0], L[0])}


# -- systems.three_reservoirs ----------------------------------------------------------------------
def three_reservoirs(c: dict) -> dict:
    """Safeguarded Newton on the junction head H in (z3, z1): the flows are explicit in H (Q = sqrt(h/K),
    the middle one signed), continuity falls strictly with H; a step leaving the bracket bisects it
    (the middle flow's slope is infinite at H = z2)."""
    z2 = c["z2"]
    K1, K2, K3 = (_darcy_head(1 / (2 * np.log10(systems.CAST_IRON_ROUGHNESS / (3.7 * c[d]))) ** 2, 1.0, c[d], length)
                  for d, length in zip(("D_1", "D_2", "D_3"), systems.RESERVOIR_LENGTHS))
    top, bottom = systems.RESERVOIR_1, systems.RESERVOIR_3

    def flows(H):
        return np.sqrt((top - H) / K1), np.sign(z2 - H) * np.sqrt(np.abs(z2 - H) / K2), np.sqrt((H - bottom) / K3)

    def g(H):
        q1, q2, q3 = flows(H)
        return q1 + q2 - q3

    lo, hi = np.full_like(z2, bottom), np.full_like(z2, top)
    H = np.clip(z2, bottom + 1e-3, top - 1e-3)
    for _ in range(4 * MAX_ITER):
        gH, slope = _slope(g, H)
        lo, hi = np.where(gH > 0, H, lo), np.where(gH > 0, hi, H)
        new = H - gH / slope
        new = np.where((new > lo) & (new < hi) & np.isfinite(new), new, (lo + hi) / 2)
        done = np.abs(new - H) <= TOL * np.abs(H)
        H = new
        if np.all(done):
            break
    q1, _, q3 = flows(H)
    return {"H_J": H, "Q_1": q1, "Q_3": q3}


# -- systems.gas_pipeline --------------------------------------------------------------------------
def gas_pipeline(c: dict) -> dict:
    """f by Clamond (Re does not depend on the pressure), then Newton on log dp."""
    p1, m, D, L = c["p1"], c["m_dot"], c["D"], c["L"]
    f = clamond(4 * m / (np.pi * D * systems.METHANE_VISCOSITY), systems.STEEL_ROUGHNESS / D)
    G2RT = (m / (np.pi * D**2 / 4)) ** 2 * systems.GAS_CONSTANT_METHANE * systems.GAS_TEMPERATURE

    def g(dp):
        return dp * (2 * p1 - dp) - G2RT * (f * L / D + 2 * np.log(p1 / (p1 - dp)))
    return {"dp": newton_log(g, G2RT * f * L / D / (2 * p1)), "f": f}


# -- systems.plate_natural_convection, systems.insulated_pipe -----------------------------------------
def _radiated(emissivity, T_air, dT):
    return emissivity * systems.STEFAN_BOLTZMANN * ((T_air + dT) ** 4 - T_air**4)


def plate_natural_convection(c: dict) -> dict:
    """Newton on log dT of the heat lost minus q, h eliminated."""
    q, L_p, T_inf, em = c["q"], c["L_p"], c["T_inf"], c["emissivity"]

    def h(dT):
        return systems.natural_convection(dT, T_inf, L_p, systems.VERTICAL_PLATE)

    dT = newton_log(lambda dT: h(dT) * dT + _radiated(em, T_inf, dT) - q, q / (5 + 6 * em))
    return {"dT": dT, "h": h(dT)}


def insulated_pipe(c: dict) -> dict:
    """Newton on log dT of the heat conducted through the insulation minus the heat lost outside."""
    T_i, D_p, t, k, em = c["T_i"], c["D_p"], c["t_ins"], c["k_ins"], c["emissivity"]
    outer, room = D_p + 2 * t, systems.ROOM
    resistance = np.log(1 + 2 * t / D_p) / (2 * np.pi * k)

    def lost(dT):
        h = systems.natural_convection(dT, room, outer, systems.HORIZONTAL_CYLINDER)
        return np.pi * outer * (h * dT + _radiated(em, room, dT))

    # start: the insulation against an outside coefficient of 10 W/(m^2 K)
    start = (T_i - room) / (1 + 10 * np.pi * outer * resistance)
    dT = newton_log(lambda dT: (T_i - room - dT) / resistance - lost(dT), start)
    return {"dT": dT, "q_line": (T_i - room - dT) / resistance}


# -- systems.oil_cooler ----------------------------------------------------------------------------
def oil_cooler(c: dict) -> dict:
    """Newton on T_ho (the oil's c_p at its mean temperature), then the water's energy balance."""
    T_hi, T_ci, m_h, m_c, UA = c["T_hi"], c["T_ci"], c["m_h"], c["m_c"], c["UA"]
    C_c = m_c * systems.WATER_CP

    def duty(T_ho):  # C_h (T_hi - T_ho) as effectiveness-NTU gives it
        C_h = m_h * systems.oil_cp((T_hi + T_ho) / 2)
        ntu, cr = UA / C_h, C_h / C_c
        x = np.exp(-ntu * (1 - cr))
        return C_h, (1 - x) / (1 - cr * x) * (T_hi - T_ci)

    T_ho = newton(lambda T: T_hi - T - duty(T)[1], (T_hi + T_ci) / 2)
    C_h = m_h * systems.oil_cp((T_hi + T_ho) / 2)
    return {"T_ho": T_ho, "T_co": T_ci + C_h * (T_hi - T_ho) / C_c}


# -- systems.furnace_wall --------------------------------------------------------------------------
def furnace_wall(c: dict) -> dict:
    """Closed form: with T_1 = T_g - q/h_i and T_2 = T_a + q/h_o the conduction equation is a
    quadratic A q^2 + B q + C = 0; its root continuous with the constant-k one is 2C/(-B + sqrt(B^2 - 4AC))."""
    T_g, h_i, L_w, h_o, T_a = c["T_g"], c["h_i"], c["L_w"], c["h_o"], c["T_a"]
    k0, k1 = systems.BRICK_K0, systems.BRICK_K1
    s, d = 1 / h_i + 1 / h_o, 1 / h_i - 1 / h_o
    dT, total = T_g - T_a, T_g + T_a
    A = s * k1 * d / 2
    B = -s * (k0 + k1 * total / 2) - dT * k1 * d / 2 - L_w
    C = dT * (k0 + k1 * total / 2)
    q = 2 * C / (-B + np.sqrt(B * B - 4 * A * C))
    return {"q_w": q, "T_1": T_g - q / h_i, "T_2": T_a + q / h_o}


#: The hand solve of each system, by relation name (bench/saving.py times those that are shipped).
HAND = {fn.__name__: fn for fn in (pump_pipe_operating_point, parallel_pipes, looped_pipes, three_reservoirs, gas_pipeline,
                                   plate_natural_convection, insulated_pipe, oil_cooler, furnace_wall)}
