"""Tables that several layers keep, one entry per kind in each (docs/architecture.md, "Where to add").

Each layer has its own form of an activation or a function (torch, NumPy, interval, the file);
a kind added to one table and not to the others fails here, not in a user's hands.
"""

from __future__ import annotations

import sympy as sp

from surrogate.checking import interval
from surrogate.declaration import compile as compile_module
from surrogate.declaration import trees
from surrogate.model import c_export, network
from surrogate.model import format as fmt
from surrogate.model import runtime as runtime_impl
from surrogate.training import lm


def test_every_activation_has_a_torch_numpy_and_file_form():
    torch_forms = set(network.ACTIVATIONS)
    assert set(runtime_impl._ACTIVATIONS) == torch_forms, "the NumPy runtime lacks an activation"
    assert set(fmt._ACTIVATIONS) == torch_forms, "the file format refuses an activation the network has"
    assert set(c_export.C_ACTIVATIONS) == torch_forms, "the C export lacks an activation"


def test_the_proof_and_lm_cover_only_activations_that_exist_and_each_has_both_derivatives():
    torch_forms = set(network.ACTIVATIONS)
    assert set(interval.ACTIVATIONS) <= torch_forms and set(lm._DERIVATIVES) <= torch_forms
    # an enclosure of the value and the slope is useless to the second-order form without the curvature
    assert set(interval.ACTIVATIONS) == set(interval.CURVATURES)
    # the default networks (TrainConfig's SiLU, LMSettings' tanh) are provable and have LM's fast Jacobian
    from surrogate.training.config import LMSettings, TrainConfig

    for name in (TrainConfig().activation, LMSettings().activation):
        assert name in interval.ACTIVATIONS and name in lm._DERIVATIVES


def test_every_compiled_function_can_be_saved():
    """A relation the compiler takes must go into a file: every function class of the
    compiler's table is a node the expression-tree format stores."""
    stored = set(trees._NODES)
    compiled = set(compile_module.SUPPORTED_FUNCTIONS)
    missing = sorted(compiled - stored)
    assert not missing, f"functions the compiler takes but a file cannot store: {missing}"
    for name in compiled:  # the same SymPy class under the name
        assert trees._NODES[name] is getattr(sp, name, trees._NODES[name])


def test_the_proofs_special_functions_are_ones_the_compiler_takes():
    """checking/special.py's Bessel rules cover orders the compiler's table has (compile._ORDERED)."""
    from surrogate.checking import special

    for cls, (_, orders) in special.BESSEL.items():
        assert set(orders) <= set(compile_module._ORDERED[cls]), cls
