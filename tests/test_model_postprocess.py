import numpy as np
import pytest
import torch

from amr_lib.model.matcher import FOREGROUND
from amr_lib.model.postprocess import LIGHTHOUSE_CLOTHO_MOMENT_CLAMP_S, TOP_K, ranked_moments


def logits_with_foreground(probabilities):
    """(B, K) foreground probabilities -> (B, K, 2) logits giving exactly those."""
    p = torch.as_tensor(probabilities, dtype=torch.float64)
    fg, bg = torch.log(p), torch.log1p(-p)
    return torch.stack([fg, bg] if FOREGROUND == 0 else [bg, fg], dim=-1).float()


PROBABILITIES = [[0.3, 0.9, 0.6], [0.2, 0.7, 0.5]]
SPANS_CXW = torch.tensor([
    # [4, 6] s; [1.8, 2.8] -> [2, 3]; [8, 11] -> clamped to [8, 10]
    [[0.5, 0.2], [0.23, 0.1], [0.95, 0.3]],
    # x 8 s: [-0.24, 0.56] -> [0, 0.56] -> [0, 1]; [6, 8.4] -> [6, 7.3] -> [6, 7]; [2, 6]
    [[0.02, 0.1], [0.9, 0.3], [0.5, 0.5]],
])
LENGTH_S = torch.tensor([10.0, 8.0])            # seconds covered by the frames
DURATION_S = torch.tensor([10.0, 7.3])          # recording lengths
EXPECTED = np.array([
    [[2.0, 3.0, 0.9], [8.0, 10.0, 0.6], [4.0, 6.0, 0.3]],
    [[6.0, 7.0, 0.7], [2.0, 6.0, 0.5], [0.0, 1.0, 0.2]],
])


def test_ranked_moments_by_hand():
    rows = ranked_moments(logits_with_foreground(PROBABILITIES), SPANS_CXW, LENGTH_S,
                          DURATION_S, clip_s=1.0)
    assert isinstance(rows, np.ndarray) and rows.dtype == np.float64
    assert rows.shape == (2, 3, 3)
    np.testing.assert_allclose(rows, EXPECTED, atol=1e-6)


def test_top_k_truncates_the_ranking():
    logits = logits_with_foreground(PROBABILITIES)
    rows = ranked_moments(logits, SPANS_CXW, LENGTH_S, DURATION_S, clip_s=1.0, top_k=2)
    assert rows.shape == (2, 2, 3)
    np.testing.assert_allclose(rows, EXPECTED[:, :2], atol=1e-6)
    rows = ranked_moments(logits, SPANS_CXW, LENGTH_S, DURATION_S, clip_s=1.0, top_k=1)
    np.testing.assert_allclose(rows[:, 0], EXPECTED[:, 0], atol=1e-6)
    # asking for more than K gives all K
    assert ranked_moments(logits, SPANS_CXW, LENGTH_S, DURATION_S, 1.0, top_k=50).shape == (
        2, 3, 3)


def test_default_keeps_the_top_ten_sorted():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 12, 2, generator=generator)
    spans = torch.rand(3, 12, 2, generator=generator)
    rows = ranked_moments(logits, spans, torch.full((3,), 60.0), torch.full((3,), 60.0), 1.0)
    assert TOP_K == 10 and rows.shape == (3, 10, 3)
    scores = rows[..., 2]
    assert (np.diff(scores, axis=1) <= 0).all()
    all_scores = logits.softmax(-1)[..., FOREGROUND].double().numpy()
    np.testing.assert_allclose(scores, -np.sort(-all_scores, axis=1)[:, :10], rtol=1e-6)
    # every window lies in [0, duration] on whole seconds, start <= end
    windows = rows[..., :2]
    assert (windows >= 0).all() and (windows <= 60).all()
    np.testing.assert_array_equal(windows, np.round(windows))
    assert (windows[..., 0] <= windows[..., 1]).all()


def test_rounding_to_half_second_clips():
    # [1.3, 3.7] s -> [1.5, 3.5]; [5.1, 7.9] -> clamped to [5.1, 7.6] -> [5.0, 7.5]
    spans = torch.tensor([[[2.5 / 8, 2.4 / 8], [6.5 / 8, 2.8 / 8]]], dtype=torch.float64)
    rows = ranked_moments(logits_with_foreground([[0.4, 0.8]]), spans, torch.tensor([8.0]),
                          torch.tensor([7.6]), clip_s=0.5)
    np.testing.assert_allclose(rows[0], [[5.0, 7.5, 0.8], [1.5, 3.5, 0.4]], atol=1e-6)


def test_ties_keep_the_query_order():
    logits = torch.zeros(1, 4, 2)
    spans = torch.tensor([[[0.1, 0.2], [0.3, 0.2], [0.5, 0.2], [0.7, 0.2]]])
    rows = ranked_moments(logits, spans, torch.tensor([10.0]), torch.tensor([10.0]), 1.0)
    np.testing.assert_allclose(rows[0, :, 0], [0.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(rows[0, :, 2], [0.5] * 4)


def test_plain_sequences_of_lengths_are_accepted():
    rows = ranked_moments(logits_with_foreground(PROBABILITIES), SPANS_CXW, [10.0, 8.0],
                          np.array([10.0, 7.3]), clip_s=1.0)
    np.testing.assert_allclose(rows, EXPECTED, atol=1e-6)


@pytest.mark.parametrize("clip_s", [1.0, 2.0])
def test_windows_are_multiples_of_the_clip(clip_s):
    generator = torch.Generator().manual_seed(1)
    spans = torch.rand(2, 10, 2, generator=generator)
    rows = ranked_moments(torch.randn(2, 10, 2, generator=generator), spans,
                          torch.tensor([30.0, 40.0]), torch.tensor([30.0, 40.0]), clip_s)
    np.testing.assert_allclose(rows[..., :2] / clip_s, np.round(rows[..., :2] / clip_s),
                               atol=1e-9)


def test_lighthouse_fixed_clamp_lets_spans_end_past_the_recording():
    rows = ranked_moments(logits_with_foreground(PROBABILITIES), SPANS_CXW, LENGTH_S,
                          DURATION_S, clip_s=1.0, clamp_s=LIGHTHOUSE_CLOTHO_MOMENT_CLAMP_S)
    expected = EXPECTED.copy()
    expected[0, 1, 1] = 11.0        # [8, 11]: not cut at the 10 s recording's end
    expected[1, 0, 1] = 8.0         # [6, 8.4] rounds to [6, 8] past the 7.3 s recording
    np.testing.assert_allclose(rows, expected, atol=1e-6)
    # starts are still clamped at 0
    assert (rows[..., 0] >= 0).all()
