import pytest
import torch
import torch.nn.functional as F

from amr_lib.model.dropout import LEVELS, Dropout, dropout, keep_mask, random_bits


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_drops_the_right_share_and_keeps_the_expectation(p):
    torch.manual_seed(0)
    x = torch.full((400, 500), 2.0)
    out = dropout(x, p, training=True)
    quantised = round(p * LEVELS) / LEVELS
    dropped = (out == 0).float().mean().item()
    # 200,000 Bernoulli draws: the share is within 5 standard deviations of p
    assert abs(dropped - quantised) < 5 * (quantised * (1 - quantised) / x.numel()) ** 0.5
    assert abs(quantised - p) <= 0.5 / LEVELS
    kept = out[out != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 2.0 / (1 - quantised)))
    assert out.mean().item() == pytest.approx(2.0, rel=0.01)


def test_identity_outside_training_and_at_zero():
    x = torch.randn(5, 7)
    assert dropout(x, 0.3, training=False) is x
    assert dropout(x, 0.0, training=True) is x
    assert torch.equal(dropout(x, 1.0, training=True), torch.zeros_like(x))


def test_seeded_by_torch_and_fresh_on_every_call():
    x = torch.ones(64, 64)
    torch.manual_seed(3)
    a, b = dropout(x, 0.5, True), dropout(x, 0.5, True)
    torch.manual_seed(3)
    again = dropout(x, 0.5, True)
    assert torch.equal(a, again)
    assert not torch.equal(a, b)


def test_gradient_is_the_mask():
    torch.manual_seed(1)
    x = torch.randn(30, 40, requires_grad=True)
    out = dropout(x, 0.25, True)
    out.sum().backward()
    mask = torch.where(out != 0, out / x.detach(), torch.zeros_like(out))
    torch.testing.assert_close(x.grad, mask)


def test_mask_values_and_shape():
    torch.manual_seed(2)
    mask = keep_mask((3, 4, 5), 0.5, torch.float64)
    assert mask.shape == (3, 4, 5) and mask.dtype == torch.float64
    assert set(mask.unique().tolist()) <= {0.0, 2.0}


def test_module_matches_nn_dropout_contract():
    module = Dropout(0.2)
    assert "p=0.2" in repr(module)
    x = torch.randn(8, 8)
    assert torch.equal(module.eval()(x), x)
    with pytest.raises(ValueError):
        Dropout(1.5)
    # same statistics as PyTorch's dropout on a large tensor
    torch.manual_seed(0)
    big = torch.ones(1000, 1000)
    ours = (module.train()(big) == 0).float().mean()
    theirs = (F.dropout(big, 0.2, True) == 0).float().mean()
    assert abs(ours - theirs) < 0.005


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("p", [0.1, 0.5])
def test_mask_equals_the_torch_formula_bit_for_bit(dtype, p):
    """The numpy-built mask holds exactly the values torch's ``bool.to(dtype).mul_(scale)``
    gives (the rule every trained model in the book was trained with)."""
    shape = (6, 61, 33)
    torch.manual_seed(5)
    ours = keep_mask(shape, p, dtype)
    torch.manual_seed(5)
    bits, threshold = random_bits(shape, p)
    reference = torch.from_numpy(bits >= threshold).view(shape).to(dtype).mul_(
        LEVELS / (LEVELS - threshold))
    assert ours.dtype == dtype and ours.shape == shape
    assert torch.equal(ours, reference)
