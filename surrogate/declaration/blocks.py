"""The block structure of an implicit system, found once at declaration.

A system of k equations in k outputs is seldom one knot: an equation may involve one
output alone (Colebrook for f, given Re), another may give an output from outputs
already known.  As a Modelica compiler does, `block_order` builds the incidence (which
outputs appear in which equation), matches each equation to one output it determines
(a perfect bipartite matching, Kuhn's augmenting paths), and splits the equations into
strongly connected components of the graph "equation i needs the output matched to
equation i'" (Tarjan).  Tarjan emits a component after every component it needs, so
its order is the solve order: the Jacobian permuted into block-lower-triangular form.

A block of one equation in one output is a scalar problem: when the equation is linear
in its output (`y3 = y1 y2`, `a y + b = 0` with a and b free of y) its value is
`-b/a`, evaluated; otherwise the output is bracketed by its declared range.  Only
blocks of more than one equation (true algebraic loops) need a multivariate Newton.
A system without a perfect matching is structurally singular (its Jacobian is singular
everywhere); it stays one block, as it was solved before.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

__all__ = ["Block", "block_order", "linear_solution"]


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
        blocks.append(Block(eqs, outs, read, explicit))
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


def _matching(uses: list[list[int]], k: int) -> list[int] | None:
    """match[i]: the output equation i is matched to, or None if no perfect matching exists."""
    eq_of: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in uses[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in eq_of or augment(eq_of[j], seen):
                eq_of[j] = i
                return True
        return False

    for i in range(len(uses)):
        if not augment(i, set()):
            return None
    match = [0] * len(uses)
    for j, i in eq_of.items():
        match[i] = j
    return match if len(eq_of) == k else None


def _components(needs: list[list[int]]) -> list[list[int]]:
    """Tarjan's strongly connected components of the graph i -> needs[i], each emitted
    after every component it reaches (dependencies first)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    out: list[list[int]] = []

    def visit(v: int) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in needs[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in range(len(needs)):
        if v not in index:
            visit(v)
    return out
