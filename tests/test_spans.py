import numpy as np
import pytest
import torch

from amr_lib.spans import (
    generalized_temporal_iou,
    generalized_temporal_iou_paired,
    span_cxw_to_xx,
    span_xx_to_cxw,
    temporal_iou,
    temporal_iou_paired,
)


def random_spans_xx(rng, shape, duration=60.0):
    start = rng.uniform(0, duration, shape)
    return np.stack([start, start + rng.uniform(0, duration / 2, shape)], axis=-1)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_conversion_hand_checked():
    np.testing.assert_allclose(span_xx_to_cxw(np.array([10.0, 30.0])), [20.0, 20.0])
    np.testing.assert_allclose(span_cxw_to_xx(np.array([0.5, 0.2])), [0.4, 0.6])


@pytest.mark.parametrize("to_torch", [False, True])
def test_conversion_round_trip(rng, to_torch):
    spans = random_spans_xx(rng, (4, 7))
    if to_torch:
        spans = torch.from_numpy(spans)
    back = span_cxw_to_xx(span_xx_to_cxw(spans))
    assert type(back) is type(spans) and back.shape == spans.shape
    np.testing.assert_allclose(np.asarray(back), np.asarray(spans), atol=1e-12)
    cxw = span_xx_to_cxw(spans)
    np.testing.assert_allclose(np.asarray(span_xx_to_cxw(span_cxw_to_xx(cxw))),
                               np.asarray(cxw), atol=1e-12)


def test_iou_hand_checked():
    a = np.array([[0.0, 10.0]])
    b = np.array([[5.0, 15.0], [10.0, 20.0], [0.0, 10.0], [2.0, 4.0], [30.0, 40.0]])
    np.testing.assert_allclose(temporal_iou(a, b)[0], [5 / 15, 0.0, 1.0, 0.2, 0.0])
    # gIoU of [0,10] and [30,40]: IoU 0, hull 40, union 20 -> -(40 - 20) / 40
    np.testing.assert_allclose(generalized_temporal_iou(a, b)[0, 4], -0.5)


def test_identical_spans_have_iou_one_and_disjoint_zero(rng):
    spans = random_spans_xx(rng, (50,))
    spans[:, 1] += 0.1  # no zero-length spans
    np.testing.assert_allclose(temporal_iou_paired(spans, spans), 1.0)
    np.testing.assert_allclose(generalized_temporal_iou_paired(spans, spans), 1.0)
    shifted = spans + (spans[:, 1:] - spans[:, :1]) + 1.0  # starts after the end
    np.testing.assert_array_equal(temporal_iou_paired(spans, shifted), 0.0)
    assert np.all(generalized_temporal_iou_paired(spans, shifted) < 0)


def test_symmetry_range_and_pairwise_matches_paired(rng):
    a, b = random_spans_xx(rng, (6,)), random_spans_xx(rng, (9,))
    iou, giou = temporal_iou(a, b), generalized_temporal_iou(a, b)
    assert iou.shape == (6, 9)
    np.testing.assert_allclose(iou, temporal_iou(b, a).T)
    np.testing.assert_allclose(giou, generalized_temporal_iou(b, a).T)
    assert np.all((iou >= 0) & (iou <= 1))
    assert np.all((giou >= -1) & (giou <= 1)) and np.all(giou <= iou + 1e-12)
    for i in range(6):
        for j in range(9):
            assert iou[i, j] == temporal_iou_paired(a[i], b[j])


def test_iou_is_invariant_to_shift_and_scale(rng):
    a, b = random_spans_xx(rng, (20,)), random_spans_xx(rng, (20,))
    base = temporal_iou_paired(a, b)
    np.testing.assert_allclose(temporal_iou_paired(a * 3.5 + 7, b * 3.5 + 7), base, atol=1e-12)


def test_batched_equals_loop(rng):
    a, b = random_spans_xx(rng, (3, 5)), random_spans_xx(rng, (3, 4))
    batched = generalized_temporal_iou(a, b)
    assert batched.shape == (3, 5, 4)
    for i in range(3):
        np.testing.assert_array_equal(batched[i], generalized_temporal_iou(a[i], b[i]))


def test_torch_matches_numpy_and_has_finite_gradients(rng):
    a, b = random_spans_xx(rng, (5,)), random_spans_xx(rng, (4,))
    a[0] = b[0] = [3.0, 3.0]  # a degenerate pair: union 0 -> IoU defined as 0
    ta = torch.tensor(a, requires_grad=True)
    tb = torch.tensor(b)
    giou = generalized_temporal_iou(ta, tb)
    np.testing.assert_allclose(giou.detach().numpy(), generalized_temporal_iou(a, b))
    assert temporal_iou(a, b)[0, 0] == 0.0
    (1 - giou).sum().backward()
    assert torch.isfinite(ta.grad).all()


def test_giou_keeps_decreasing_as_spans_move_apart():
    a = np.array([0.0, 1.0])
    gaps = np.array([[g, g + 1.0] for g in (2.0, 4.0, 8.0)])
    giou = generalized_temporal_iou_paired(a, gaps)
    assert np.all(temporal_iou_paired(a, gaps) == 0)
    assert giou[0] > giou[1] > giou[2] > -1
