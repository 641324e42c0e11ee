"""The C export's code for blocks of points (c_export.py writes the rest of the file): the layers'
loops over a block with the point index innermost, the files' own branch-free tanh, and the
eval_batch that queues each row for its network's block.  Imports nothing from the package."""

from __future__ import annotations

__all__ = ["BLOCK", "KB", "LOG_EXP", "TANH", "batch", "dense", "lanes_fn", "layer"]

#: Points per block of `NAME_eval_batch`: the layers run over a block at once, the point index
#: innermost, so a compiler vectorises them (-O3 -march=native: 4 doubles or 8 floats per AVX2
#: instruction); a block's activations stay in the L1 cache.
BLOCK = {"double": 32, "float": 64}

#: expm1(r) for |r| <= ln(2)/2 by its Taylor polynomial to r^13 (Horner), in double: the core of the
#: file's tanh and exp (one text for both)
_EXPM1_R = """    e = 1.0 / 6227020800.0;
    e = e * r + 1.0 / 479001600.0;
    e = e * r + 1.0 / 39916800.0;
    e = e * r + 1.0 / 3628800.0;
    e = e * r + 1.0 / 362880.0;
    e = e * r + 1.0 / 40320.0;
    e = e * r + 1.0 / 5040.0;
    e = e * r + 1.0 / 720.0;
    e = e * r + 1.0 / 120.0;
    e = e * r + 1.0 / 24.0;
    e = e * r + 1.0 / 6.0;
    e = e * r + 0.5;
    e = r + r * r * e;  /* expm1(r) */
"""

#: The files' own tanh, branch-free so that a compiler vectorises it over a block (libm's tanh is a
#: call per element).  In double: tanh x = e / (e + 2), e = expm1(2x) = 2^k (expm1(r) + 1) - 1,
#: k = round(2x / ln 2), |r| <= ln(2) / 2, expm1(r) by its Taylor polynomial of degree 13 (its
#: remainder below a tenth of an ulp), 2^k put together in the exponent's bits; |x| is first clamped
#: to 20, where tanh rounds to +-1.  In float: Eigen's rational approximation (x P(x^2) / Q(x^2), degrees
#: 13 and 6, |x| clamped to 7.905; +-1 beyond 9): the whole float file of Gnielinski ran 75 ns a point
#: with it, 81 with the expm1 route (one core of the AMD EPYC in bench/README.md).
#: The clamps compare the bits as integers: a float comparison may raise FE_INVALID on a NaN, which
#: keeps GCC from vectorising it without -fno-trapping-math; NaN passes through (its bits compare above
#: infinity's).  Both within 3 ulp of tanh (tests/test_c_export.py).
TANH = {"double": """static inline double {p}_fast_tanh_d(double x)
{
    union { double d; uint64_t u; } a, k, s;
    double z, kd, r, e;
    a.d = x;
    a.u = ((a.u & 0x7fffffffffffffffu) > 0x4034000000000000u) & ((a.u & 0x7fffffffffffffffu) <= 0x7ff0000000000000u)
        ? (a.u & 0x8000000000000000u) | 0x4034000000000000u : a.u;  /* +-20 */
    z = a.d + a.d;
    k.d = z * 1.4426950408889634 + 6755399441055744.0;  /* 1.5 * 2^52: round(z / ln 2) in the low bits */
    kd = k.d - 6755399441055744.0;
    r = z - kd * 0.6931471803691238;  /* ln 2, high part: kd * it is exact */
    r = r - kd * 1.9082149292705877e-10;  /* ln 2, low part */
""" + _EXPM1_R + """    s.u = 0x3ff0000000000000u + (k.u << 52);  /* 2^k */
    e = s.d * e + (s.d - 1.0);  /* expm1(z) */
    return e / (e + 2.0);
}
""", "float": """static inline float {p}_fast_tanh_f(float x)
{
    union { float d; uint32_t u; } a, r;
    float x2, p, q;
    uint32_t big;
    a.d = x;
    big = ((a.u & 0x7fffffffu) > 0x41100000u) & ((a.u & 0x7fffffffu) <= 0x7f800000u);  /* 9 < |x|: tanh is +-1 */
    a.u = ((a.u & 0x7fffffffu) > 0x40fcf84fu) & ((a.u & 0x7fffffffu) <= 0x7f800000u)
        ? (a.u & 0x80000000u) | 0x40fcf84fu : a.u;  /* +-7.90531110763549805 */
    x = a.d;
    x2 = x * x;
    p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * x;
    q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    r.d = p / q;
    big = 0u - big;  /* all ones where 9 < |x| */
    r.u = (r.u & ~big) | (((a.u & 0x80000000u) | 0x3f800000u) & big);
    return r.d;
}
"""}


def dense(ident: str, t: str, lanes: int) -> str:
    """out = W in (+ b) for `lanes` points at once: W row-major [n_out][n_in], in [n_in][lanes] and
    out [n_out][lanes] (the point index innermost, so the compiler vectorises over points), each sum
    in order, then the bias, as h @ W^T + b."""
    return f"""static void {ident}_dense{lanes}_{t[0]}(const {t} *w, const {t} *b, const {t} *in, int n_in, int n_out, {t} *out)
{{
    for (int i = 0; i < n_out; ++i) {{
        {t} s[{lanes}];
        for (int p = 0; p < {lanes}; ++p)
            s[p] = 0;
        for (int j = 0; j < n_in; ++j) {{
            const {t} wij = w[i * n_in + j];
            for (int p = 0; p < {lanes}; ++p)
                s[p] += wij * in[j * {lanes} + p];
        }}
        if (b)
            for (int p = 0; p < {lanes}; ++p)
                out[i * {lanes} + p] = s[p] + b[i];
        else
            for (int p = 0; p < {lanes}; ++p)
                out[i * {lanes} + p] = s[p];
    }}
}}
"""


#: Outputs of a block layer computed at once (`layer`): their sums live in registers (a vector of points
#: each) while each input activation is loaded once for all of them.  Fastest on Gnielinski's 2x24 tanh
#: network (one core of the AMD EPYC, bench/README.md): float 8 (4, 6, 12 within 2 ns a point), double 6
#: (8: 144 ns, 12: 188 ns, the compiler no longer vectorising some passes).  The activation is a pass of
#: its own: fused into the write-out it kept GCC 12 from vectorising some passes (the double tanh, 6 or
#: more outputs) and was no faster in float.
KB = {"double": 6, "float": 8}


def layer(t: str, w: str, b: str | None, n_in: int, n_out: int, src: str, dst: str, acc: bool = False) -> list[str]:
    """The lines of a block layer, dst = W src + b (dst += W src with `acc`, b None), over the block's
    L points: W the C array `w` [n_out][n_in], src [n_in][L] and dst [n_out][L].  The sum over the inputs is
    written out with literal indices (no loop), KB[t] outputs per pass over the points: the loop over the
    points is then innermost and simple, the compiler vectorises it with each sum a register (the former
    loop over the inputs kept the block's sums in memory, a load and a store per multiply-add).  Each sum
    in order from 0, then the bias, as the one-point `dense` computes it."""
    out = []
    for i0 in range(0, n_out, KB[t]):
        ks = range(i0, min(i0 + KB[t], n_out))
        out += ["    for (int p = 0; p < L; ++p) {",
                f"        {t} " + ", ".join(f"a{k - i0} = 0" for k in ks) + ", x;"]
        for j in range(n_in):
            out.append(f"        x = {src}[{j} * L + p];")
            out += [f"        a{k - i0} += {w}[{k * n_in + j}] * x;" for k in ks]
        for k in ks:
            v = f"a{k - i0}" + (f" + {b}[{k}]" if b else "")
            out.append(f"        {dst}[{k} * L + p] {'+=' if acc else '='} {v};")
        out.append("    }")
    return out


def lanes_fn(ident: str, p: str, cfg: dict, t: str, lanes: int, reads: list[str], feats: list[str],
              heads: list[str]) -> str:
    """The network's function of `lanes` points (rows of x to rows of y): {p}_eval for one, {p}_block
    for BLOCK[t]; the features and heads point by point in double, the layers over all points at once
    (arrays [unit][point]); one text for both, so a point gets the same arithmetic either way."""
    c = t[0]
    nf, width, no = cfg["n_in"], cfg["width"], cfg["n_out"]
    name = f"{p}_eval" if lanes == 1 else f"{p}_block"
    body = [f"    enum {{ L = {lanes} }};  /* points */",
            "    double f[" + str(nf) + " * L];",
            f"    {t} g[{nf} * L], h[{width} * L], {f'h2[{width} * L], ' if cfg['depth'] > 1 else ''}o[{no} * L];",
            "    /* features, in double */",
            "    for (int p = 0; p < L; ++p) {",
            "        double t;", *reads, *feats, "    }",
            f"    for (int i = 0; i < {nf} * L; ++i)\n        g[i] = ({t})f[i];",
            f"    /* the network, in {t} */"]
    src = "g"
    for i in range(cfg["depth"]):
        dst = "h" if src != "h" else "h2"
        n_in = nf if i == 0 else width
        if lanes == 1:
            body.append(f"    {ident}_dense{lanes}_{c}({p}_w{i}, {p}_b{i}, {src}, {n_in}, {width}, {dst});")
            body.append(f"    for (int i = 0; i < {width} * L; ++i)\n        {dst}[i] = {ident}_{cfg['activation']}_{c}({dst}[i]);")
        else:  # the sums written out (`layer`), then the activation
            body += layer(t, f"{p}_w{i}", f"{p}_b{i}", n_in, width, src, dst)
            body.append(f"    for (int i = 0; i < {width} * L; ++i)\n        {dst}[i] = {ident}_{cfg['activation']}_{c}({dst}[i]);")
        src = dst
    if lanes == 1:
        body.append(f"    {ident}_dense{lanes}_{c}({p}_wl, {p}_bl, {src}, {width}, {no}, o);")
        if cfg.get("skip"):
            body.append(f"    {{\n        {t} s[{no} * L];\n        {ident}_dense{lanes}_{c}({p}_ws, NULL, g, {nf}, {no}, s);\n"
                        f"        for (int i = 0; i < {no} * L; ++i)\n            o[i] += s[i];\n    }}")
    else:
        body += layer(t, f"{p}_wl", f"{p}_bl", width, no, src, "o")
        if cfg.get("skip"):
            body += layer(t, f"{p}_ws", None, nf, no, "g", "o", acc=True)
    body += ["    /* the heads, in double */", "    for (int p = 0; p < L; ++p) {", *heads, "    }"]
    return f"static void {name}(const double *x, double *y)\n{{\n" + "\n".join(body) + "\n}\n"


def batch(ident: str, d: int, m: int, plans: list, piecewise: bool) -> str:
    """NAME_eval_batch of a file whose inputs are d, outputs m, and whose networks or pieces are `plans`:
    per network (piece) k, ("net", its C type, the input columns it reads), or ("const", the outputs' C
    literals, whether all are finite) for a constant piece.  Each row is checked, then queued for its
    network (by NAME_piece when `piecewise`); a full queue (BLOCK rows) runs the network's block
    function, and what is left at the end runs as one block padded with copies of its first row."""
    up = ident.upper()
    out = [f"""static void {ident}_note(size_t i, int s, int *status, size_t *first, int *code)
{{
    if (status)
        status[i] = s;
    if (s != {up}_OK && i < *first) {{
        *first = i;
        *code = s;
    }}
}}
"""]
    for k, plan in enumerate(plans):
        if plan[0] != "net":
            continue
        lanes, cols = BLOCK[plan[1]], plan[2]
        gather = "\n".join(f"        xb[p * {len(cols)} + {j}] = xi[{c}];" for j, c in enumerate(cols))
        out.append(f"""/* rows idx[0..c-1] of x through network {k}, as one block */
static void {ident}_n{k}_run(int c, const size_t *idx, const double *x, double *y, int *status, size_t *first, int *code)
{{
    double xb[{lanes} * {len(cols)}], yb[{lanes} * {m}];
    for (int p = 0; p < {lanes}; ++p) {{
        const double *xi = x + idx[p < c ? p : 0] * {d};
{gather}
    }}
    {ident}_n{k}_block(xb, yb);
    for (int p = 0; p < c; ++p) {{
        int s = {up}_OK;
        for (int j = 0; j < {m}; ++j) {{
            y[idx[p] * {m} + j] = yb[p * {m} + j];
            if (!isfinite(yb[p * {m} + j]))
                s = {up}_NOT_FINITE;
        }}
        {ident}_note(idx[p], s, status, first, code);
    }}
}}
""")
    lanes = max([BLOCK[plan[1]] for plan in plans if plan[0] == "net"] or [1])

    def queue(k: int, pad: str) -> str:
        lk = BLOCK[plans[k][1]]
        return (f"{pad}idx[{k}][c[{k}]++] = i;\n{pad}if (c[{k}] == {lk}) {{\n"
                f"{pad}    {ident}_n{k}_run(c[{k}], idx[{k}], x, y, status, &first, &code);\n{pad}    c[{k}] = 0;\n{pad}}}")

    if not piecewise:
        route = queue(0, "        ")
    else:
        cases = []
        for k, plan in enumerate(plans):
            if plan[0] == "net":
                cases.append(f"        case {k}:\n{queue(k, '            ')}\n            break;")
            else:
                sets = " ".join(f"y[i * {m} + {j}] = {v};" for j, v in enumerate(plan[1]))
                code = f"{up}_OK" if plan[2] else f"{up}_NOT_FINITE"
                cases.append(f"        case {k}:  /* a constant */\n            {sets}\n"
                             f"            {ident}_note(i, {code}, status, &first, &code);\n            break;")
        route = (f"        switch ({ident}_piece(xi)) {{\n" + "\n".join(cases) + "\n        default:\n            break;\n"
                 "        }")
    tail = "\n".join(f"    if (c[{k}] > 0)\n        {ident}_n{k}_run(c[{k}], idx[{k}], x, y, status, &first, &code);"
                     for k, plan in enumerate(plans) if plan[0] == "net")
    out.append(f"""int {ident}_eval_batch(size_t n, const double *x, double *y, int *status)
{{
    size_t first = n, idx[{len(plans)}][{lanes}];
    int code = {up}_OK, c[{len(plans)}] = {{0}};
    for (size_t i = 0; i < n; ++i) {{
        const double *xi = x + i * {d};
        int s = {ident}_check(xi);
        if (s != {up}_OK) {{
            for (int j = 0; j < {m}; ++j)
                y[i * {m} + j] = NAN;
            {ident}_note(i, s, status, &first, &code);
            continue;
        }}
{route}
    }}
{tail}
    return code;
}}
""")
    return "\n".join(out)


#: The files' own log and exp of a double, branch-free like the tanh, for the features' logs and the heads'
#: exponentials, which libm computes a call per point (a quarter of the float file's time on Gnielinski).
#: log x = k ln 2 + 2 atanh(s), x = 2^k m, m in [sqrt(1/2), sqrt(2)), s = (m - 1) / (m + 1), the series to
#: s^21 (its remainder below a tenth of an ulp); exp x = 2^k (1 + expm1(r)) with the tanh's expm1, 2^k as
#: two factors so that a subnormal result is rounded once more at most.  Special values as libm gives
#: them (log of 0, of a negative, of a subnormal, inf, NaN; exp's overflow to inf and underflow to 0),
#: selected with integer masks.  Within 2 ulp of NumPy's log and exp (tests/test_c_export.py).
LOG_EXP = """static inline double {p}_log_d(double x)
{
    union { double d; uint64_t u; } a, b, kb, adj, r;
    uint64_t t, sub, neg, bad, zero;
    double kd, f, s, z, q;
    a.d = x;
    sub = 0u - (uint64_t)(a.u - 1u < 0x000fffffffffffffu);  /* all ones for a positive subnormal */
    b.d = x * 18014398509481984.0;  /* 2^54 */
    b.u = (b.u & sub) | (a.u & ~sub);
    adj.u = 0x404b000000000000u & sub;  /* 54 or 0 */
    t = b.u + 0x00095f619980c433u;  /* the biased exponent of x / sqrt(1/2) in the top bits */
    kb.u = 0x4330000000000000u | (t >> 52);
    kd = (kb.d - 4503599627370496.0) - 1023.0 - adj.d;  /* k */
    b.u -= (t & 0xfff0000000000000u) - 0x3ff0000000000000u;  /* m = x / 2^k */
    f = b.d - 1.0;
    s = f / (2.0 + f);
    z = s * s;
    q = 1.0 / 21.0;
    q = q * z + 1.0 / 19.0;
    q = q * z + 1.0 / 17.0;
    q = q * z + 1.0 / 15.0;
    q = q * z + 1.0 / 13.0;
    q = q * z + 1.0 / 11.0;
    q = q * z + 1.0 / 9.0;
    q = q * z + 1.0 / 7.0;
    q = q * z + 1.0 / 5.0;
    q = q * z + 1.0 / 3.0;
    q = q * z;
    r.d = kd * 0.6931471803691238 + (kd * 1.9082149292705877e-10 + (2.0 * s + 2.0 * s * q));
    neg = 0u - (a.u >> 63);
    bad = neg | (0u - (uint64_t)((a.u & 0x7ff0000000000000u) == 0x7ff0000000000000u));  /* x < 0, -0, inf, NaN */
    zero = 0u - (uint64_t)((a.u & 0x7fffffffffffffffu) == 0u);  /* +-0: -inf */
    r.u = (r.u & ~bad) | (((0x7ff8000000000000u & neg) | (a.u & ~neg)) & bad);  /* NaN below 0; inf, NaN */
    r.u = (r.u & ~zero) | (0xfff0000000000000u & zero);
    return r.d;
}

static inline double {p}_exp_d(double x)
{
    union { double d; uint64_t u; } a, k, s1, s2;
    uint64_t hi, lo, q;
    double kd, r, e;
    a.d = x;
    hi = 0u - (uint64_t)((a.u > 0x4086300000000000u) & (a.u <= 0x7ff0000000000000u));  /* 710 < x <= inf */
    lo = 0u - (uint64_t)((a.u > 0xc087500000000000u) & (a.u <= 0xfff0000000000000u));  /* -inf <= x < -746 */
    a.u = (a.u & ~(hi | lo)) | (0x4086300000000000u & hi) | (0xc087500000000000u & lo);
    k.d = a.d * 1.4426950408889634 + 6755399441055744.0;  /* 1.5 * 2^52: k = round(x / ln 2) in the low bits */
    kd = k.d - 6755399441055744.0;
    r = a.d - kd * 0.6931471803691238;
    r = r - kd * 1.9082149292705877e-10;
""" + _EXPM1_R + """    q = (k.u + 4096u) & 0xffffu;  /* k + 4096, |k| <= 1077 */
    s1.u = ((q >> 1) - 1025u) << 52;  /* 2^floor(k / 2) */
    s2.u = (q - (q >> 1) - 1025u) << 52;  /* 2^(k - floor(k / 2)) */
    return (s1.d * (1.0 + e)) * s2.d;
}
"""
