"""The MLP: every hidden layer is followed by a non-linearity, by construction."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MLP", "ACTIVATIONS"]

ACTIVATIONS = {"silu": nn.SiLU, "gelu": nn.GELU, "tanh": nn.Tanh, "relu": nn.ReLU}


class MLP(nn.Module):
    """`depth` hidden layers of `width` units, each followed by the activation.

    Stacking linear layers with nothing between them (seed 001) collapses to one
    linear map; here there is no way to ask for that.
    """

    def __init__(self, n_in: int, n_out: int, *, width: int = 64, depth: int = 3, activation: str = "silu",
                 skip: bool = True):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation {activation!r} is not one of {', '.join(ACTIVATIONS)}")
        if width < 1 or depth < 1:
            raise ValueError(f"width and depth must be >= 1, not width={width!r}, depth={depth!r}")
        self.config = {"n_in": n_in, "n_out": n_out, "width": width, "depth": depth, "activation": activation,
                       "skip": skip}
        layers: list[nn.Module] = []
        size = n_in
        for _ in range(depth):
            layers += [nn.Linear(size, width), ACTIVATIONS[activation]()]
            size = width
        self.hidden = nn.Sequential(*layers)
        self.last = nn.Linear(size, n_out)
        # A linear path from features to outputs: power laws are linear in log
        # features, and the MLP then only learns what is left.
        self.skip = nn.Linear(n_in, n_out, bias=False) if skip else None
        with torch.no_grad():  # start near the head's centre: outputs of the right scale
            self.last.weight.mul_(0.1)
            self.last.bias.zero_()
            if self.skip is not None:
                self.skip.weight.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.last(self.hidden(x))
        return out if self.skip is None else out + self.skip(x)
