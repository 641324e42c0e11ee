"""The block structure of an implicit system, found once at declaration.

A system of k equations in k outputs is seldom one knot: an equation may involve one
output alone (Colebrook for f, given Re), another may give an output from outputs
already known.  As a Modelica compiler does, `block_order` builds the incidence (which
outputs appear in which equation), matches each equation to one output it determines
(a perfect bipartite matching), and splits the equations into strongly connected
components of the graph "equation i needs the output matched to equation i'", ordered
so that each comes after every component it needs: the solve order, the Jacobian
permuted into block-lower-triangular form (scipy.sparse.csgraph for the matching and the
components, graphlib for the order).

A block of one equation in one output is a scalar problem: when the equation is linear
in its output (`y3 = y1 y2`, `a y + b = 0` with a and b free of y) its value is
`-b/a`, evaluated; otherwise the output is bracketed by its declared range.  Only
blocks of more than one equation (true algebraic loops) need a multivariate Newton.
A system without a perfect matching is structurally singular (its Jacobian is singular
everywhere); it stays one block, as it was solved before.

A block of one equation whose derivative in its output SymPy proves of one strict sign
(from the symbols' real/positive/negative assumptions, which hold over the declared
ranges) is monotone: its residual is continuous and crosses zero at most once over
the output's range, so the solve needs no dense scan to know the root is the only one.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

__all__ = ["Block", "block_order", "derivative_sign", "linear_solution"]


@dataclass(frozen=True)
class Block:
    """Equations solved together for as many outputs.

    equations: indices into `relation.residuals`; outputs: indices into
    `relation.outputs`, both ascending; needs: the outputs of earlier blocks that
    these equations read; explicit: for one equation linear in its one output, the
    output's value (a SymPy expression of inputs and earlier outputs), else None.
    """

    equations: tuple[int, ...]
    outputs: tuple[int, ...]
    needs: tuple[int, ...]
    explicit: sp.Expr | None = None
    #: for one equation in one output: +1 or -1 where SymPy proves d(residual)/d(output) of that
    #: strict sign wherever the symbols' assumptions hold (the residual is then continuous and
    #: strictly monotone in the output), 0 where it cannot (a scan must look for every root)
    monotone: int = 0

    @property
    def size(self) -> int:
        return len(self.equations)


def block_order(residuals, outputs: list[sp.Symbol]) -> tuple[Block, ...]:
    """The blocks of the system `residuals = 0` in `outputs`, in the order they are solved."""
    k = len(outputs)
    uses = [[j for j, o in enumerate(outputs) if o in r.free_symbols] for r in residuals]
    everything = Block(tuple(range(len(residuals))), tuple(range(k)), ())
    match = _matching(uses, k) if len(residuals) == k else None
    if match is None:
        return (everything,)
    owner = {match[i]: i for i in range(k)}
    needs = [sorted({owner[j] for j in uses[i] if j != match[i]}) for i in range(k)]
    blocks = []
    for comp in _components(needs):
        eqs = tuple(sorted(comp))
        outs = tuple(sorted(match[i] for i in eqs))
        read = tuple(sorted({j for i in eqs for j in uses[i]} - set(outs)))
        explicit = linear_solution(residuals[eqs[0]], outputs[outs[0]]) if len(eqs) == 1 else None
        monotone = derivative_sign(residuals[eqs[0]], outputs[outs[0]]) if len(eqs) == 1 and explicit is None else 0
        blocks.append(Block(eqs, outs, read, explicit, monotone))
    return tuple(blocks)


def linear_solution(residual: sp.Expr, y: sp.Symbol) -> sp.Expr | None:
    """-b/a where residual = a y + b with a and b free of y (a not zero); else None."""
    a = sp.diff(residual, y)
    if a == 0 or y in a.free_symbols:
        return None
    b = residual.subs(y, 0)
    if y in b.free_symbols or b.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    if b == 0:
        return sp.Integer(0)
    return -b / a


def derivative_sign(residual: sp.Expr, y: sp.Symbol) -> int:
    """+1 or -1 when SymPy proves d residual / dy strictly of that sign for every value the symbols'
    assumptions allow; 0 when it cannot tell.  Positive and negative imply finite in SymPy, so a
    proven sign also rules out a pole of the residual inside the range."""
    d = sp.diff(residual, y)
    if d.is_positive:
        return 1
    if d.is_negative:
        return -1
    return 0


def _matching(uses: list[list[int]], k: int) -> list[int] | None:
    """match[i]: the output equation i is matched to, or None if no perfect matching exists
    (scipy.sparse.csgraph's maximum bipartite matching)."""
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import maximum_bipartite_matching

    rows = [i for i, js in enumerate(uses) for _ in js]
    cols = [j for js in uses for j in js]
    graph = csr_array(([1] * len(rows), (rows, cols)), shape=(len(uses), k))
    match = maximum_bipartite_matching(graph, perm_type="column")  # per equation, its output or -1
    return None if (match < 0).any() else [int(j) for j in match]


def _components(needs: list[list[int]]) -> list[list[int]]:
    """The strongly connected components of the graph i -> needs[i] (scipy.sparse.csgraph),
    each after every component it reaches (dependencies first; graphlib's topological order
    of the condensation)."""
    from graphlib import TopologicalSorter

    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import connected_components

    n = len(needs)
    rows = [i for i, js in enumerate(needs) for _ in js]
    cols = [j for js in needs for j in js]
    graph = csr_array(([1] * len(rows), (rows, cols)), shape=(n, n))
    _, label = connected_components(graph, directed=True, connection="strong")
    members: dict[int, list[int]] = {}
    for v in range(n):
        members.setdefault(int(label[v]), []).append(v)
    after = {c: {int(label[w]) for v in vs for w in needs[v]} - {c} for c, vs in members.items()}
    return [members[c] for c in TopologicalSorter(after).static_order()]
