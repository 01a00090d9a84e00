"""QD-DETR's PReLU computed through leaky-ReLU kernels, equal to ``nn.PReLU`` bit for bit.

It was written because PyTorch's PReLU backward (``_prelu_kernel_backward``) once profiled
at 7 % of a paper-configuration CPU step (11 ms per call on a (64, 61, 1024) activation).
The committed same-run measurement (``benchmarks/results/train_speed.json``,
``speedup_bought_by.prelu``) shows no gain from it today (0.994x), so it is not a speed-up;
it stays until a same-run benchmark on an idle machine decides, because swapping it for
``nn.PReLU`` must first be shown to keep every trained number (the committed results are
keyed on the numerics fingerprint).
With one slope per layer (QD-DETR's), PReLU is a leaky ReLU whose slope is learned, so
the forward pass and the input gradient are PyTorch's vectorised leaky-ReLU kernels, and
the slope's gradient is ``sum(min(x, 0) * grad)``: the same products, summed in the same
order, as PyTorch's own (tests compare them with ``torch.equal``). Other devices, and
layers with one slope per channel, use ``nn.PReLU`` itself.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable


class PReLU(nn.PReLU):
    """A drop-in for ``nn.PReLU`` (same parameter, same state-dict key, same numbers)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fast = (x.device.type == "cpu" and self.weight.numel() == 1
                and x.dtype == self.weight.dtype)
        return SingleSlopePReLU.apply(x, self.weight) if fast else super().forward(x)


class SingleSlopePReLU(torch.autograd.Function):
    """``prelu(x, w)`` for a one-element ``w``: ``x`` where ``x > 0``, else ``w * x``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        ctx.slope = float(weight)       # a CPU scalar: reading it costs no device sync
        ctx.save_for_backward(x, weight)
        return F.leaky_relu(x, ctx.slope)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        x, weight = ctx.saved_tensors
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.leaky_relu_backward(grad, x, ctx.slope, False)
        if ctx.needs_input_grad[1]:
            # PyTorch forms x * grad where x <= 0 (0 elsewhere) and sums the whole tensor;
            # a signed zero where x > 0 leaves every partial sum unchanged
            grad_weight = (x.clamp(max=0) * grad).sum().reshape(weight.shape)
        return grad_x, grad_weight
