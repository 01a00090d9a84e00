"""Absent queries: pairing recordings with absent texts, training on them, and the top
score as a present/absent decision (AUROC, threshold kept in the checkpoint)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_moments import tiny_model_config, tiny_split

from amr_lib.model.am_detr import AMDETR
from amr_lib.presence import (
    CHECKPOINT_KEY,
    choose_threshold,
    presence_auroc,
    presence_pairs,
    store_threshold,
    stored_threshold,
    top_scores,
)
from amr_lib.train import BEST, TrainingConfig, read_am_detr_checkpoint, train_am_detr


def test_absent_texts_come_from_other_recordings_with_other_texts():
    split = tiny_split(40, seed=0)
    rows = torch.arange(20)
    texts = split.absent_texts(rows, 0.25, np.random.default_rng(0))
    changed = torch.nonzero(texts != rows).squeeze(1)
    assert len(changed) == 5                                   # round(0.25 * 20)
    for row, donor in zip(rows[changed].tolist(), texts[changed].tolist(), strict=True):
        assert split.recording[donor] != split.recording[row]
        assert split.annotations[donor].query != split.annotations[row].query
    again = split.absent_texts(rows, 0.25, np.random.default_rng(0))
    assert torch.equal(texts, again)                           # seeded
    assert torch.equal(split.absent_texts(rows, 0.0, np.random.default_rng(0)), rows)
    with pytest.raises(ValueError, match=r"absent and hard shares must be in \[0, 1\]"):
        split.absent_texts(rows, 1.5, np.random.default_rng(0))


def test_an_absent_pair_has_no_moment_and_no_salient_frame():
    split = tiny_split(10, seed=0)
    rows = torch.tensor([0, 1, 2])
    texts = torch.tensor([0, 5, 2])                            # row 1 hears query 5's text
    batch = split.batch(rows, texts)
    assert [len(s) for s in batch.targets.spans_cxw] == [1, 0, 1]
    assert batch.targets.saliency[1].sum() == 0
    assert batch.targets.saliency[0].sum() > 0
    length = int(split.token_mask[5].sum())
    assert torch.equal(batch.tokens[1, :length], split.tokens[5, :length])
    assert torch.equal(batch.audio[1], split.audio[split.recording[1]])
    plain = split.batch(rows)
    assert torch.equal(plain.targets.saliency[1], split.saliency[1])


def test_a_split_of_one_text_has_no_absent_pairs():
    split = tiny_split(6, seed=0)
    one_text = split.__class__(**{**split.__dict__, "annotations": tuple(
        a.__class__(a.qid, "the same", a.duration, a.vid, a.relevant_windows)
        for a in split.annotations)})
    with pytest.raises(ValueError, match="no absent pair found"):
        one_text.absent_texts(torch.arange(6), 0.5, np.random.default_rng(0))


def test_threshold_and_auroc_by_hand():
    scores = np.array([0.9, 0.8, 0.4, 0.3, 0.5, 0.1])
    present = np.array([True, True, True, False, False, False])
    assert presence_auroc(scores, present) == pytest.approx(8 / 9)
    chosen = choose_threshold(scores, present)
    # 0.8 and 0.4 both reach balanced accuracy 5/6; the higher threshold wins
    assert chosen.threshold == pytest.approx(0.8)
    assert chosen.valid_balanced_accuracy == pytest.approx(5 / 6)


def test_absent_share_is_kept_out_of_old_run_keys():
    assert "absent_share" not in TrainingConfig().to_json()
    assert TrainingConfig(absent_share=0.25).to_json()["absent_share"] == 0.25
    assert TrainingConfig.from_json(TrainingConfig(absent_share=0.25).to_json()) == \
        TrainingConfig(absent_share=0.25)
    with pytest.raises(ValueError, match="absent_share"):
        TrainingConfig(absent_share=1.0)


def test_a_tiny_model_learns_to_score_absent_queries_low(tmp_path):
    train, valid = tiny_split(80, seed=0), tiny_split(24, seed=1)
    auroc = {}
    for share in (0.0, 0.3):
        config = TrainingConfig(epochs=40, batch_size=8, lr=2e-3, device="cpu",
                                absent_share=share)
        result = train_am_detr(tiny_model_config(dropout=0.0), train, valid, config,
                               tmp_path / str(share), progress=False)
        pairs = presence_pairs(valid, seed=7)
        scores = top_scores(result.model, valid, pairs)
        auroc[share] = presence_auroc(scores, pairs.present)
        path = tmp_path / str(share) / BEST
        # training keeps to training: the run that asks for presence stores its threshold
        assert CHECKPOINT_KEY not in read_am_detr_checkpoint(path)["extra"]
        if share:
            chosen = store_threshold(path, result.model, valid, seed=0)
            assert stored_threshold(path) == chosen
            assert store_threshold(path, result.model, valid, seed=5) == chosen   # kept
        assert result.best_metrics["R1@0.5"] >= 50                 # still finds moments
    assert auroc[0.3] > 0.9
    assert auroc[0.3] > auroc[0.0] + 0.1
    threshold = read_am_detr_checkpoint(tmp_path / "0.3" / BEST)["extra"][CHECKPOINT_KEY]
    assert 0 < threshold["threshold"] < 1 and threshold["valid_auroc"] > 0.9
    torch.manual_seed(0)
    untrained = top_scores(AMDETR(tiny_model_config()), valid, presence_pairs(valid, 7))
    assert untrained.shape == (2 * len(valid),)


def test_platt_calibration_of_two_signals_is_fitted_stored_and_read_back():
    from amr_lib.presence import (
        Calibration,
        expected_calibration_error,
        fit_calibration,
        own_signals,
        reliability_bins,
    )

    rng = np.random.default_rng(0)
    present = np.repeat([True, False], 400)
    # the head separates well, the saliency a little; the top logit not at all
    signals = {"head": np.where(present, 2.0, -2.0) + rng.normal(0, 1, 800),
               "saliency": np.where(present, 0.5, 0.0) + rng.normal(0, 1, 800),
               "top": rng.normal(0, 1, 800)}
    assert own_signals(signals) == ("head", "saliency")
    assert own_signals({"top": signals["top"], "saliency": signals["saliency"]}) == (
        "top", "saliency")
    calibration = fit_calibration(signals, present)
    assert calibration.signals == ("head", "saliency")
    assert calibration.weights[0] > calibration.weights[1] > 0
    assert calibration.valid_auroc > 0.95 and calibration.valid_ece < 0.05
    probability = calibration.probability(signals)
    assert probability.min() >= 0 and probability.max() <= 1
    # calibrated: within each bin, the share of present pairs is close to the probability
    bins = reliability_bins(probability, present)
    assert sum(b["pairs"] for b in bins) == 800
    assert expected_calibration_error(probability, present) == pytest.approx(
        calibration.valid_ece)
    # a constant 0.5 against an even split is calibrated; 0.9 is off by 0.4
    even = np.full(800, 0.5)
    assert expected_calibration_error(even, present) == pytest.approx(0.0)
    assert expected_calibration_error(np.full(800, 0.9), present) == pytest.approx(0.4)
    assert Calibration.from_json(calibration.to_json()) == calibration
    with pytest.raises(ValueError, match="not a Platt calibration"):
        Calibration.from_json({**calibration.to_json(), "kind": "isotonic"})


def test_pair_moments_rank_a_pair_as_predict_split_ranks_the_query():
    from amr_lib.presence import pair_moments
    from amr_lib.train import predict_split

    split = tiny_split(12, seed=3)
    torch.manual_seed(0)
    model = AMDETR(tiny_model_config(dropout=0.0)).eval()
    pairs = presence_pairs(split, seed=1)
    present, absent = [0, 5, 7], [len(split) + 2, len(split) + 9]
    own = predict_split(model, split)
    for index, moments in zip(present, pair_moments(model, split, pairs, present),
                              strict=True):
        expected = own[index].pred_relevant_windows
        assert moments.shape == expected.shape
        np.testing.assert_allclose(moments, expected, atol=1e-5)
    # an absent pair asks another query's text: its best score is top_scores' for the pair
    tops = top_scores(model, split, pairs)
    for index, moments in zip(absent, pair_moments(model, split, pairs, absent),
                              strict=True):
        assert moments[0, 2] == pytest.approx(tops[index], abs=1e-5)
        assert (np.diff(moments[:, 2]) <= 0).all()                 # best first
