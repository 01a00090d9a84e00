import math

import numpy as np
import pytest
import torch

from amr_lib.model.am_detr import AMDETR, AMDETRConfig
from amr_lib.model.criterion import LossConfig, SetCriterion
from amr_lib.model.data import MomentTargets
from amr_lib.model.matcher import FOREGROUND
from amr_lib.spans import span_cxw_to_xx, temporal_iou_paired

BACKGROUND = 1 - FOREGROUND


def logits_with_foreground(probabilities):
    """(B, K) foreground probabilities -> (B, K, 2) logits giving exactly those."""
    p = torch.as_tensor(probabilities, dtype=torch.float32)
    fg, bg = torch.log(p), torch.log1p(-p)
    return torch.stack([fg, bg] if FOREGROUND == 0 else [bg, fg], dim=-1)


def no_saliency(batch: int, frames: int = 4) -> dict:
    return {"saliency": torch.zeros(batch, frames),
            "audio_mask": torch.ones(batch, frames, dtype=torch.bool)}


def random_outputs(batch, queries, frames, aux_layers, seed):
    generator = torch.Generator().manual_seed(seed)

    def layer():
        return {"pred_logits": torch.randn(batch, queries, 2, generator=generator),
                "pred_spans": torch.rand(batch, queries, 2, generator=generator) * 0.5 + 0.1}

    out = layer()
    out["aux_outputs"] = [layer() for _ in range(aux_layers)]
    out["saliency_scores"] = torch.randn(batch, frames, generator=generator)
    return out


# ----------------------------------------------------------------------------- set losses


def test_loss_names_include_every_auxiliary_layer():
    out = random_outputs(2, 5, 6, aux_layers=2, seed=0)
    targets = MomentTargets([torch.tensor([[0.3, 0.2]]), torch.tensor([[0.6, 0.1]])],
                            **no_saliency(2, 6))
    losses = SetCriterion()(out, targets)
    assert set(losses) == {"loss_span", "loss_giou", "loss_label", "loss_saliency",
                           "loss_span_0", "loss_giou_0", "loss_label_0",
                           "loss_span_1", "loss_giou_1", "loss_label_1"}
    assert all(value.dim() == 0 and torch.isfinite(value) for value in losses.values())


def test_auxiliary_losses_are_the_same_losses_on_earlier_layers():
    out = random_outputs(2, 5, 6, aux_layers=1, seed=1)
    targets = MomentTargets([torch.tensor([[0.3, 0.2]]), torch.tensor([[0.6, 0.1]])],
                            **no_saliency(2, 6))
    criterion = SetCriterion()
    losses = criterion(out, targets)
    aux_alone = criterion.set_losses(out["aux_outputs"][0], targets.spans_cxw)
    for name in ("loss_span", "loss_giou", "loss_label"):
        torch.testing.assert_close(losses[f"{name}_0"], aux_alone[name])
    assert not torch.allclose(losses["loss_span"], losses["loss_span_0"])
    # an output without aux_outputs has only the main losses
    del out["aux_outputs"]
    assert set(criterion(out, targets)) == {"loss_span", "loss_giou", "loss_label",
                                            "loss_saliency"}


def test_permuting_the_queries_changes_no_loss():
    out = random_outputs(3, 8, 10, aux_layers=2, seed=2)
    generator = torch.Generator().manual_seed(7)
    spans = [torch.rand(g, 2, generator=generator) * 0.4 + 0.1 for g in (1, 3, 2)]
    saliency = (torch.rand(3, 10, generator=generator) > 0.6).float()
    targets = MomentTargets(spans, saliency, torch.ones(3, 10, dtype=torch.bool))
    criterion = SetCriterion()
    reference = criterion(out, targets)
    for seed in range(3):
        order = torch.randperm(8, generator=torch.Generator().manual_seed(seed))

        def permute(layer, order=order):
            return {"pred_logits": layer["pred_logits"][:, order],
                    "pred_spans": layer["pred_spans"][:, order]}

        permuted = {**permute(out), "saliency_scores": out["saliency_scores"],
                    "aux_outputs": [permute(aux) for aux in out["aux_outputs"]]}
        losses = criterion(permuted, targets)
        assert set(losses) == set(reference)
        for name, value in reference.items():
            torch.testing.assert_close(losses[name], value, atol=1e-6, rtol=1e-6)


def test_label_loss_by_hand_with_background_weight():
    # query 1 sits exactly on the target: the matcher must give it the target
    probabilities = np.array([[0.3, 0.8, 0.6], [0.45, 0.1, 0.9]])
    spans = torch.tensor([[[0.9, 0.05], [0.4, 0.2], [0.1, 0.05]],
                          [[0.2, 0.1], [0.95, 0.05], [0.6, 0.3]]])
    targets = [torch.tensor([[0.4, 0.2]]), torch.tensor([[0.6, 0.3]])]
    matched = {(0, 1), (1, 2)}
    losses = SetCriterion().set_losses(
        {"pred_logits": logits_with_foreground(probabilities), "pred_spans": spans}, targets)
    terms = [-math.log(p) if (b, k) in matched else -0.1 * math.log(1 - p)
             for (b, k), p in np.ndenumerate(probabilities)]
    expected = np.mean(terms)     # QD-DETR: unnormalised weights, mean over all B*K
    assert float(losses["loss_label"]) == pytest.approx(expected, rel=1e-5)
    assert float(losses["loss_span"]) == pytest.approx(0.0, abs=1e-6)
    assert float(losses["loss_giou"]) == pytest.approx(0.0, abs=1e-6)

    # the background weight is a config value
    heavier = SetCriterion(LossConfig(background_weight=0.5)).set_losses(
        {"pred_logits": logits_with_foreground(probabilities), "pred_spans": spans}, targets)
    terms = [-math.log(p) if (b, k) in matched else -0.5 * math.log(1 - p)
             for (b, k), p in np.ndenumerate(probabilities)]
    assert float(heavier["loss_label"]) == pytest.approx(np.mean(terms), rel=1e-5)


def test_span_and_giou_losses_by_hand():
    out = {"pred_logits": torch.zeros(1, 1, 2), "pred_spans": torch.tensor([[[0.5, 0.2]]])}
    losses = SetCriterion().set_losses(out, [torch.tensor([[0.45, 0.3]])])
    # L1: (|0.5 - 0.45| + |0.2 - 0.3|) / 2 coordinates
    assert float(losses["loss_span"]) == pytest.approx(0.075, abs=1e-6)
    # [0.4, 0.6] vs [0.3, 0.6]: intersection 0.2, union 0.3, hull 0.3 -> gIoU = 2/3
    assert float(losses["loss_giou"]) == pytest.approx(1 / 3, abs=1e-6)

    # disjoint spans: [0.1, 0.2] vs [0.7, 0.9]: IoU 0, hull 0.8, union 0.3 -> gIoU = -5/8
    out = {"pred_logits": torch.zeros(1, 1, 2), "pred_spans": torch.tensor([[[0.15, 0.1]]])}
    losses = SetCriterion().set_losses(out, [torch.tensor([[0.8, 0.2]])])
    assert float(losses["loss_giou"]) == pytest.approx(1 + 5 / 8, abs=1e-6)
    assert float(losses["loss_span"]) == pytest.approx((0.65 + 0.1) / 2, abs=1e-6)


def test_perfect_predictions_cost_nothing_but_the_label_loss():
    spans = torch.tensor([[[0.1, 0.9], [0.3, 0.2], [0.8, 0.1], [0.7, 0.05]]])
    targets = [torch.tensor([[0.7, 0.05], [0.3, 0.2]])]
    logits = logits_with_foreground([[0.01, 0.99, 0.01, 0.99]])
    out = {"pred_logits": logits, "pred_spans": spans}
    losses = SetCriterion().set_losses(out, targets)
    assert float(losses["loss_span"]) == pytest.approx(0.0, abs=1e-7)
    assert float(losses["loss_giou"]) == pytest.approx(0.0, abs=1e-6)
    expected = np.mean([-0.1 * math.log(0.99), -math.log(0.99)] * 2)
    assert float(losses["loss_label"]) == pytest.approx(expected, rel=1e-4)


def test_a_recording_without_moments():
    logits = torch.randn(1, 5, 2, requires_grad=True)
    spans = (torch.rand(1, 5, 2) * 0.5 + 0.1).requires_grad_()
    out = {"pred_logits": logits, "pred_spans": spans, "saliency_scores": torch.randn(1, 6),
           "aux_outputs": [{"pred_logits": logits * 2, "pred_spans": spans}]}
    targets = MomentTargets([torch.zeros(0, 2)], **no_saliency(1, 6))
    criterion = SetCriterion()
    losses = criterion(out, targets)
    assert all(torch.isfinite(value) for value in losses.values())
    for name in ("loss_span", "loss_giou", "loss_span_0", "loss_giou_0", "loss_saliency"):
        assert float(losses[name].detach()) == 0.0, name
    # an absent pair: its background labels count fully, not at the 0.1 weight
    background = logits.detach().log_softmax(-1)[..., BACKGROUND]
    assert float(losses["loss_label"].detach()) == pytest.approx(float(-background.mean()),
                                                        rel=1e-5)
    criterion.total(losses).backward()
    # everything is pushed to background: gradient descent lowers every foreground logit
    assert (logits.grad[..., FOREGROUND] > 0).all()
    assert (logits.grad[..., BACKGROUND] < 0).all()
    assert spans.grad is not None and (spans.grad == 0).all()


def test_label_loss_by_hand_for_an_absent_and_a_present_query():
    probabilities = np.array([[0.3, 0.8], [0.45, 0.9]])    # foreground probabilities
    spans = torch.tensor([[[0.2, 0.1], [0.6, 0.2]], [[0.4, 0.2], [0.7, 0.1]]])
    targets = [torch.zeros(0, 2), torch.tensor([[0.4, 0.2]])]   # query 0 is absent
    losses = SetCriterion().set_losses(
        {"pred_logits": logits_with_foreground(probabilities), "pred_spans": spans}, targets)
    terms = [-math.log(1 - 0.3), -math.log(1 - 0.8),            # absent: weight 1
             -math.log(0.45), -0.1 * math.log(1 - 0.9)]         # matched, unmatched at 0.1
    assert float(losses["loss_label"]) == pytest.approx(np.mean(terms), rel=1e-5)


def test_recordings_without_moments_do_not_dilute_the_span_loss():
    out = random_outputs(2, 4, 6, aux_layers=0, seed=3)
    target = torch.tensor([[0.42, 0.3]])
    criterion = SetCriterion()
    mixed = criterion.set_losses(out, [torch.zeros(0, 2), target])
    alone = criterion.set_losses({k: out[k][1:] for k in ("pred_logits", "pred_spans")},
                                 [target])
    torch.testing.assert_close(mixed["loss_span"], alone["loss_span"])
    torch.testing.assert_close(mixed["loss_giou"], alone["loss_giou"])
    assert float(mixed["loss_span"]) > 0


# ----------------------------------------------------------------------------- saliency


def brute_force_hinge(scores, inside, mask, margin=0.2):
    total = 0.0
    for b in range(len(scores)):
        ins = [t for t in range(scores.shape[1]) if mask[b, t] and inside[b, t]]
        outs = [t for t in range(scores.shape[1]) if mask[b, t] and not inside[b, t]]
        gaps = [max(0.0, margin + scores[b, o] - scores[b, i]) for i in ins for o in outs]
        if gaps:
            total += 2 * sum(gaps) / len(gaps)
    return total / len(scores)


def brute_force_rank_contrastive(scores, positive, mask, temperature=0.5):
    per_query = []
    for b in range(len(scores)):
        frames = [t for t in range(scores.shape[1]) if mask[b, t]]
        positives = [t for t in frames if positive[b, t]]
        if not positives:
            per_query.append(0.0)
            continue
        logits = np.array([scores[b, t] / temperature for t in frames])
        log_normaliser = np.log(np.exp(logits - logits.max()).sum()) + logits.max()
        log_p = {t: scores[b, t] / temperature - log_normaliser for t in frames}
        per_query.append(-np.mean([log_p[t] for t in positives]))
    return np.mean(per_query) / 12


def brute_force_negative_pairs(negative, mask):
    return np.mean([sum(-math.log(1 - 1 / (1 + math.exp(-negative[b, t])))
                        for t in range(negative.shape[1]) if mask[b, t])
                    for b in range(len(negative))])


def saliency_example(seed, frames=9):
    generator = np.random.default_rng(seed)
    lengths = [9, 7, 5, 6]
    mask = np.arange(frames)[None] < np.array(lengths)[:, None]
    inside = np.zeros((4, frames), dtype=bool)
    inside[0, 2:5] = True
    inside[1, [0, 3, 4]] = True         # two moments
    inside[2, :5] = True                # the whole recording: no outside frame, no pair
    # item 3 has no moment at all
    scores = generator.normal(size=(4, frames))
    negative = generator.normal(size=(4, frames))
    return scores, negative, inside, mask


def saliency_loss(scores, inside, mask, negative=None, config=None):
    out = {"saliency_scores": torch.tensor(scores, dtype=torch.float32)}
    if negative is not None:
        out["saliency_scores_neg"] = torch.tensor(negative, dtype=torch.float32)
    targets = MomentTargets([torch.zeros(0, 2)] * len(scores),
                            torch.tensor(inside, dtype=torch.float32), torch.tensor(mask))
    return float(SetCriterion(config).saliency_loss(out, targets))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_saliency_loss_equals_a_brute_force_reimplementation(seed):
    scores, _, inside, mask = saliency_example(seed)
    expected = (brute_force_hinge(scores, inside, mask)
                + brute_force_rank_contrastive(scores, inside, mask))
    assert saliency_loss(scores, inside, mask) == pytest.approx(expected, rel=1e-5)


def test_saliency_loss_with_negatives_equals_a_brute_force_reimplementation():
    scores, negative, inside, mask = saliency_example(4)
    both = np.concatenate((scores, negative), axis=1)
    expected = (brute_force_hinge(scores, inside, mask)
                + brute_force_negative_pairs(negative, mask)
                + brute_force_rank_contrastive(both, np.concatenate((inside, 0 * inside), 1),
                                               np.concatenate((mask, mask), 1)))
    assert saliency_loss(scores, inside, mask, negative) == pytest.approx(expected, rel=1e-5)


def test_saliency_constants_come_from_the_config():
    scores, _, inside, mask = saliency_example(5)
    config = LossConfig(saliency_margin=0.7, contrastive_temperature=2.0)
    expected = (brute_force_hinge(scores, inside, mask, margin=0.7)
                + brute_force_rank_contrastive(scores, inside, mask, temperature=2.0))
    assert saliency_loss(scores, inside, mask, config=config) == pytest.approx(expected,
                                                                              rel=1e-5)


def test_hinge_is_zero_once_every_inside_frame_wins_by_the_margin():
    inside = np.array([[False, True, True, False]])
    mask = np.ones((1, 4), dtype=bool)
    separated = np.array([[0.0, 0.25, 0.3, 0.05]])     # every gap >= 0.2
    assert brute_force_hinge(separated, inside, mask) == 0.0
    contrastive = brute_force_rank_contrastive(separated, inside, mask)
    assert saliency_loss(separated, inside, mask) == pytest.approx(contrastive, rel=1e-6)
    # frame 1 (0.15) beats frame 0 by 0.15 and frame 3 by 0.1: short of the margin by 0.05
    # and 0.1; frame 2 clears both. 2 x mean over the 4 pairs
    closer = np.array([[0.0, 0.15, 0.3, 0.05]])
    expected = 2 * (0.05 + 0.1) / 4 + brute_force_rank_contrastive(closer, inside, mask)
    assert saliency_loss(closer, inside, mask) == pytest.approx(expected, rel=1e-5)


def test_padding_frames_never_change_the_saliency_loss():
    scores, negative, inside, mask = saliency_example(6, frames=9)
    junk = np.random.default_rng(1)
    wider = 14
    pad = wider - 9

    def widen(x, fill):
        return np.concatenate((x, fill((4, pad))), axis=1)

    wide_mask = widen(mask, lambda s: np.zeros(s, dtype=bool))
    # junk scores and even "inside" labels on padding
    wide_inside = widen(inside, lambda s: np.ones(s, dtype=bool))
    wide_scores = widen(scores, lambda s: 50 * junk.normal(size=s))
    wide_negative = widen(negative, lambda s: 50 * junk.normal(size=s))
    # padding frames inside the original width too (item 2 has 5 real frames of 9)
    wide_scores[2, 5:9] = 1e4
    wide_inside[3, 6:9] = True
    for with_negative in (False, True):
        reference = saliency_loss(scores, inside, mask, negative if with_negative else None)
        padded_loss = saliency_loss(wide_scores, wide_inside, wide_mask,
                                    wide_negative if with_negative else None)
        assert padded_loss == pytest.approx(reference, rel=1e-5)


# ----------------------------------------------------------------------------- weights


@pytest.mark.parametrize(("name", "field"), [
    ("loss_span", "span_l1"), ("loss_span_0", "span_l1"), ("loss_span_11", "span_l1"),
    ("loss_giou", "span_giou"), ("loss_giou_1", "span_giou"),
    ("loss_label", "label"), ("loss_label_0", "label"), ("loss_saliency", "saliency"),
])
def test_loss_weights_by_name(name, field):
    config = LossConfig(span_l1=2.0, span_giou=3.0, label=5.0, saliency=7.0)
    assert config.weight(name) == getattr(config, field)


def test_paper_weights_and_unknown_names():
    config = LossConfig()
    assert [config.weight(n) for n in ("loss_span", "loss_giou", "loss_label",
                                       "loss_saliency")] == [10.0, 1.0, 4.0, 1.0]
    assert config.background_weight == 0.1
    assert config.saliency_margin == 0.2 and config.contrastive_temperature == 0.5
    with pytest.raises(KeyError):
        config.weight("loss_mystery")


def test_total_is_the_weighted_sum():
    config = LossConfig(span_l1=2.0, span_giou=3.0, label=5.0, saliency=7.0)
    losses = {"loss_span": torch.tensor(1.0), "loss_giou": torch.tensor(0.5),
              "loss_label": torch.tensor(0.25), "loss_saliency": torch.tensor(2.0),
              "loss_span_0": torch.tensor(10.0), "loss_label_0": torch.tensor(1.0)}
    expected = 2 * 1 + 3 * 0.5 + 5 * 0.25 + 7 * 2 + 2 * 10 + 5 * 1
    assert float(SetCriterion(config).total(losses)) == pytest.approx(expected)


# ----------------------------------------------------------------------------- overfit


@pytest.fixture
def one_thread():
    """Tiny models train fastest on one thread (and do not suffer from busy CPUs)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_a_tiny_model_overfits_a_fixed_batch(one_thread):
    batch, frames, audio_dim, text_dim = 4, 20, 16, 12
    generator = torch.Generator().manual_seed(100)
    audio = torch.randn(batch, frames, audio_dim, generator=generator)
    tokens = torch.randn(batch, 5, text_dim, generator=generator)
    audio_mask = torch.ones(batch, frames, dtype=torch.bool)
    token_mask = torch.ones(batch, 5, dtype=torch.bool)
    moments = [(2, 6), (8, 15), (0, 4), (11, 19)]          # frames [start, end)
    spans = torch.tensor([[(s + e) / 2 / frames, (e - s) / frames] for s, e in moments])
    saliency = torch.zeros(batch, frames)
    for row, (start, end) in enumerate(moments):
        saliency[row, start:end] = 1
    targets = MomentTargets(list(spans[:, None]), saliency, audio_mask)

    torch.manual_seed(2)
    model = AMDETR(AMDETRConfig(audio_dim=audio_dim, text_dim=text_dim, hidden_dim=32,
                                heads=2, ffn_dim=64, dropout=0.0, input_dropout=0.0))
    criterion = SetCriterion()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    first = None
    for _ in range(600):
        total = criterion.total(criterion(model(audio, audio_mask, tokens, token_mask),
                                          targets))
        first = float(total.detach()) if first is None else first
        optimizer.zero_grad()
        total.backward()
        optimizer.step()

    model.eval()
    with torch.no_grad():
        out = model(audio, audio_mask, tokens, token_mask)
        last = float(criterion.total(criterion(out, targets)))
    assert last < first / 8
    best = out["pred_logits"].softmax(-1)[..., FOREGROUND].argmax(1)
    top = out["pred_spans"][torch.arange(batch), best]
    iou = temporal_iou_paired(span_cxw_to_xx(top), span_cxw_to_xx(spans))
    assert (iou > 0.9).all(), iou
    # saliency ranks the moment's frames above the rest for every item
    scores = out["saliency_scores"]
    for row in range(batch):
        assert scores[row][saliency[row] == 1].min() > scores[row][saliency[row] == 0].max()
