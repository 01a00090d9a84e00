import itertools

import pytest
import torch

from amr_lib.model.matcher import FOREGROUND, HungarianMatcher, MatcherConfig


def logits_with_foreground(probabilities):
    """(B, K) foreground probabilities -> (B, K, 2) logits giving exactly those."""
    p = torch.as_tensor(probabilities, dtype=torch.float32)
    fg, bg = torch.log(p), torch.log1p(-p)
    return torch.stack([fg, bg] if FOREGROUND == 0 else [bg, fg], dim=-1)


def test_nearest_prediction_wins_a_lone_target():
    spans = torch.tensor([[[0.2, 0.1], [0.7, 0.2], [0.5, 0.5]]])
    logits = logits_with_foreground([[0.5, 0.5, 0.5]])
    [(pred, target)] = HungarianMatcher()(logits, spans, [torch.tensor([[0.68, 0.22]])])
    assert pred.tolist() == [1] and target.tolist() == [0]


def brute_force_cost(spans, probability, targets):
    """The paper's matching cost, written out pair by pair (10 L1 - gIoU - 4 p)."""
    def xx(span):
        return span[0] - span[1] / 2, span[0] + span[1] / 2

    cost = torch.zeros(len(spans), len(targets))
    for i, span in enumerate(spans.tolist()):
        for j, target in enumerate(targets.tolist()):
            (a0, a1), (b0, b1) = xx(span), xx(target)
            inter = max(0.0, min(a1, b1) - max(a0, b0))
            union = (a1 - a0) + (b1 - b0) - inter
            hull = max(a1, b1) - min(a0, b0)
            giou = inter / union - (hull - union) / hull
            l1 = abs(span[0] - target[0]) + abs(span[1] - target[1])
            cost[i, j] = 10 * l1 - giou - 4 * probability[i]
    return cost


def test_assignment_is_one_to_one_and_globally_optimal():
    generator = torch.Generator().manual_seed(3)
    for _ in range(20):
        spans = torch.rand(5, 2, generator=generator) * 0.4 + 0.1
        targets = torch.rand(3, 2, generator=generator) * 0.4 + 0.1
        probability = torch.rand(5, generator=generator)
        logits = logits_with_foreground(probability[None])
        [(pred, target)] = HungarianMatcher()(logits, spans[None], [targets])
        cost = brute_force_cost(spans, probability.tolist(), targets)
        best = min(sum(cost[p, t] for t, p in enumerate(chosen))
                   for chosen in itertools.permutations(range(5), 3))
        assert len(set(pred.tolist())) == 3 and sorted(target.tolist()) == [0, 1, 2]
        assert float(cost[pred, target].sum()) == pytest.approx(float(best), abs=1e-5)


def test_confidence_breaks_ties_with_the_label_weight():
    spans = torch.tensor([[[0.5, 0.2], [0.5, 0.2]]])   # two identical spans
    targets = [torch.tensor([[0.5, 0.2]])]
    [(pred, _)] = HungarianMatcher()(logits_with_foreground([[0.2, 0.9]]), spans, targets)
    assert pred.tolist() == [1]
    [(pred, _)] = HungarianMatcher(MatcherConfig(label=0.0))(
        logits_with_foreground([[0.2, 0.9]]), spans, targets)
    assert pred.tolist() in ([0], [1])


def test_batch_matches_each_item_alone_and_handles_empty_targets():
    generator = torch.Generator().manual_seed(0)
    spans = torch.rand(4, 10, 2, generator=generator) * 0.5 + 0.1
    logits = torch.randn(4, 10, 2, generator=generator)
    targets = [torch.rand(g, 2, generator=generator) * 0.5 + 0.1 for g in (1, 3, 0, 2)]
    matcher = HungarianMatcher()
    batch = matcher(logits, spans, targets)
    for b in range(4):
        [(pred, target)] = matcher(logits[b:b + 1], spans[b:b + 1], targets[b:b + 1])
        assert torch.equal(pred, batch[b][0]) and torch.equal(target, batch[b][1])
    assert batch[2][0].numel() == 0 and batch[2][1].numel() == 0
    assert [len(p) for p, _ in batch] == [1, 3, 0, 2]


def test_permuting_predictions_permutes_the_matching():
    generator = torch.Generator().manual_seed(1)
    spans = torch.rand(1, 10, 2, generator=generator) * 0.5 + 0.1
    logits = torch.randn(1, 10, 2, generator=generator)
    targets = [torch.rand(3, 2, generator=generator) * 0.5 + 0.1]
    matcher = HungarianMatcher()
    [(pred, target)] = matcher(logits, spans, targets)
    order = torch.randperm(10, generator=generator)
    [(pred_p, target_p)] = matcher(logits[:, order], spans[:, order], targets)
    original = {int(order[p]): int(t) for p, t in zip(pred_p, target_p, strict=True)}
    assert original == {int(p): int(t) for p, t in zip(pred, target, strict=True)}


def test_matching_builds_no_graph():
    spans = torch.rand(1, 5, 2, requires_grad=True)
    [(pred, _)] = HungarianMatcher()(torch.randn(1, 5, 2), spans, [torch.rand(2, 2)])
    assert not pred.requires_grad and spans.grad is None
