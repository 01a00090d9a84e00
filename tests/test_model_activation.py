"""The CPU PReLU equals ``nn.PReLU`` bit for bit: forward, input gradient and slope
gradient, so switching to it changed no trained model."""

import pytest
import torch
from torch import nn

from amr_lib.model.activation import PReLU, SingleSlopePReLU


def both(x: torch.Tensor, slope: float, grad: torch.Tensor):
    """Output, input gradient and slope gradient of nn.PReLU and of ours."""
    results = []
    for module in (nn.PReLU(init=slope), PReLU(init=slope)):
        leaf = x.clone().requires_grad_()
        out = module(leaf)
        out.backward(grad)
        results.append((out.detach(), leaf.grad, module.weight.grad))
    return results


@pytest.mark.parametrize("shape", [(64, 61, 1024), (3, 5), (7,)])
@pytest.mark.parametrize("slope", [0.25, -0.3, 1.7])
def test_equals_nn_prelu_bit_for_bit(shape, slope):
    generator = torch.Generator().manual_seed(len(shape))
    x = torch.randn(shape, generator=generator) * 3
    x.view(-1)[::7] = 0.0                      # exact zeros take the x <= 0 branch
    grad = torch.randn(shape, generator=generator)
    (theirs, ours) = both(x, slope, grad)
    for a, b in zip(theirs, ours, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert torch.equal(a, b)


def test_slope_gradient_checked_by_hand():
    x = torch.tensor([[-2.0, 3.0], [0.5, -1.0]], requires_grad=True)
    module = PReLU(init=0.5)
    out = module(x)
    torch.testing.assert_close(out.detach(), torch.tensor([[-1.0, 3.0], [0.5, -0.5]]))
    out.backward(torch.tensor([[1.0, 10.0], [100.0, 2.0]]))
    # d/dw sums x * grad over x <= 0: -2 * 1 + -1 * 2
    assert module.weight.grad.item() == -4.0
    torch.testing.assert_close(x.grad, torch.tensor([[0.5, 10.0], [100.0, 1.0]]))


def test_a_drop_in_for_nn_prelu():
    ours, theirs = PReLU(), nn.PReLU()
    assert isinstance(ours, nn.PReLU)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    assert torch.equal(ours.weight, theirs.weight)
    # one slope per channel is nn.PReLU's own path
    channels = PReLU(num_parameters=4)
    x = torch.randn(2, 4, 3)
    assert torch.equal(channels(x), nn.functional.prelu(x, channels.weight))


def test_gradient_only_where_asked():
    x = torch.randn(4, 3)
    module = PReLU()
    module.weight.requires_grad_(False)
    leaf = x.clone().requires_grad_()
    module(leaf).sum().backward()
    assert leaf.grad is not None and module.weight.grad is None
    assert SingleSlopePReLU.apply(x, torch.tensor([0.1])).requires_grad is False
