"""Dropout whose random mask is cheap on the CPU.

PyTorch's CPU dropout draws its mask with ``bernoulli_`` from one Mersenne Twister, one
element at a time: measured with ``torch.profiler`` (``benchmarks/train_speed.py``), that
was a quarter of an AM-DETR training step at the paper configuration on 2 cores, more than
anything but the matrix products. Here the mask comes from 16-bit slices of numpy's SFC64
generator, four per 64-bit draw, compared with a threshold in one vectorised step. Its
seed is drawn from torch's default generator, so ``torch.manual_seed`` still makes a run
repeatable. numpy also turns the booleans into the float mask (3x faster than torch's
bool-to-float copy here), with the same values to the bit.

The drop probability is quantised to ``round(p * 65536) / 65536`` (0.1 -> 0.100006, 0.5
exactly) and kept values are scaled by ``1 / (1 - that)``, so the expectation of every
output equals its input exactly, as with ``F.dropout``. On other devices, and outside
training, this is ``F.dropout`` itself.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LEVELS = 1 << 16            # resolution of the drop probability (16-bit random numbers)
NUMPY_TYPES = {torch.float32: np.float32, torch.float64: np.float64}


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Zero each element of ``x`` with probability ``p`` (quantised, see the module
    docstring) and scale the rest by ``1 / (1 - p)``; the identity unless ``training``."""
    if not training or p == 0:
        return x
    if x.device.type != "cpu" or not 0 < p < 1:
        return F.dropout(x, p, True)
    return x * keep_mask(x.shape, p, x.dtype)


def keep_mask(shape: torch.Size | tuple[int, ...], p: float, dtype: torch.dtype
              ) -> torch.Tensor:
    """``shape`` tensor of ``0`` (dropped) and ``1 / (1 - p_q)`` (kept), ``p_q`` the
    quantised drop probability."""
    bits, threshold = random_bits(shape, p)
    scale = LEVELS / (LEVELS - threshold)
    if dtype in NUMPY_TYPES:    # numpy converts booleans to floats 3x faster than torch
        kept = (bits >= threshold).astype(NUMPY_TYPES[dtype])
        kept *= scale           # rounded to the dtype first, as torch's mul_ does
        return torch.from_numpy(kept).view(shape)
    return torch.from_numpy(bits >= threshold).view(shape).to(dtype).mul_(scale)


def random_bits(shape: torch.Size | tuple[int, ...], p: float) -> tuple[np.ndarray, int]:
    """The draw behind a mask: one 16-bit number per element of ``shape`` (flat uint16)
    and the threshold below which an element is dropped."""
    count = int(np.prod(shape))
    seed = int(torch.randint(0, 2 ** 62, ()))          # torch's generator decides the mask
    bits = np.random.Generator(np.random.SFC64(seed)).bit_generator.random_raw(
        (count + 3) // 4).view(np.uint16)[:count]
    return bits, round(p * LEVELS)


class Dropout(nn.Module):
    """:func:`dropout` as a module (a drop-in for ``nn.Dropout``)."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
