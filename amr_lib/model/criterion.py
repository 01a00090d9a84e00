"""AM-DETR's losses (QD-DETR's), returned by name; their weights are applied by the trainer.

- ``loss_span``: L1 between matched predicted and true ``(center, width)`` (normalised);
- ``loss_giou``: ``1 - gIoU`` of the matched pairs (start/end);
- ``loss_label``: 2-way cross-entropy over all K predictions, unmatched ones labelled
  background, whose class weight is 0.1 (1 for an absent pair, a query whose sound is
  not in the recording: all its K predictions are background and all must go down);
- ``loss_saliency``: three terms on the per-frame saliency scores, summed:
  a margin-0.2 hinge between frames inside and outside the moment (QD-DETR samples two
  pairs per query; we average every pair, the exact expectation), a rank contrastive term
  (frames inside the moment against all frames of the recording and all frames scored
  against a wrong query, temperature 0.5), and a negative-pair term pushing the frames
  scored against a wrong query (the batch's texts rolled by one) towards 0;
- ``loss_span_{i}``, ``loss_giou_{i}``, ``loss_label_{i}``: the same for decoder layer i
  (auxiliary losses).

Targets for a batch of B queries: ``spans_cxw``, B tensors ``(G_b, 2)``; ``saliency``
``(B, T)`` with 1 on frames inside a moment; ``audio_mask (B, T)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from amr_lib.model.data import MomentTargets
from amr_lib.model.matcher import FOREGROUND, HungarianMatcher, MatcherConfig
from amr_lib.spans import generalized_temporal_iou_paired, span_cxw_to_xx

BACKGROUND = 1 - FOREGROUND
MASKED_SCORE = -1e3        # stands in for a padded frame's score in the softmax


@dataclass(frozen=True)
class LossConfig:
    """Weights of the named losses (the paper's) and the saliency loss's constants."""

    span_l1: float = 10.0
    span_giou: float = 1.0
    label: float = 4.0
    saliency: float = 1.0
    background_weight: float = 0.1      # CE class weight of "background" (DETR's eos_coef)
    saliency_margin: float = 0.2
    contrastive_temperature: float = 0.5
    matcher: MatcherConfig = field(default_factory=MatcherConfig)

    def weight(self, name: str) -> float:
        """Weight of a loss by name (``loss_span_0`` weighs as ``loss_span``)."""
        base = name.removeprefix("loss_").rstrip("0123456789").rstrip("_")
        return {"span": self.span_l1, "giou": self.span_giou, "label": self.label,
                "saliency": self.saliency}[base]


class SetCriterion(nn.Module):
    """Hungarian matching, then the named losses of the module docstring."""

    def __init__(self, config: LossConfig | None = None) -> None:
        super().__init__()
        self.config = config or LossConfig()
        self.matcher = HungarianMatcher(self.config.matcher)
        class_weight = torch.ones(2)
        class_weight[BACKGROUND] = self.config.background_weight
        self.register_buffer("class_weight", class_weight)

    def forward(self, outputs: dict, targets: MomentTargets) -> dict[str, torch.Tensor]:
        losses = self.set_losses(outputs, targets.spans_cxw)
        for index, aux in enumerate(outputs.get("aux_outputs", [])):
            losses.update({f"{name}_{index}": value
                           for name, value in self.set_losses(aux, targets.spans_cxw).items()})
        losses["loss_saliency"] = self.saliency_loss(outputs, targets)
        return losses

    def total(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        """The weighted sum the optimiser minimises."""
        return sum(self.config.weight(name) * value for name, value in losses.items())

    def set_losses(self, outputs: dict, spans_cxw: list[torch.Tensor]
                   ) -> dict[str, torch.Tensor]:
        """Span L1, gIoU and label losses of one decoder layer's predictions."""
        logits, spans = outputs["pred_logits"].float(), outputs["pred_spans"].float()
        matches = self.matcher(logits, spans, spans_cxw)
        batch_index = torch.cat([torch.full_like(p, b) for b, (p, _) in enumerate(matches)])
        pred_index = torch.cat([p for p, _ in matches])
        batch_index, pred_index = batch_index.to(spans.device), pred_index.to(spans.device)
        matched = spans[batch_index, pred_index]                                 # (M, 2)
        true = torch.cat([s[t.to(s.device)] for s, (_, t) in zip(spans_cxw, matches,
                                                                   strict=True)]).to(matched)
        classes = torch.full(logits.shape[:2], BACKGROUND, dtype=torch.int64,
                             device=logits.device)
        classes[batch_index, pred_index] = FOREGROUND
        per_prediction = F.cross_entropy(logits.transpose(1, 2), classes,
                                         self.class_weight.to(logits), reduction="none")
        # an absent pair (no true moment) must push every score down, its best one above
        # all: its background labels count fully instead of at DETR's down-weighting
        absent = torch.tensor([len(s) == 0 for s in spans_cxw], device=logits.device)
        per_prediction = torch.where(absent[:, None],
                                     per_prediction / self.config.background_weight,
                                     per_prediction)
        losses = {"loss_label": per_prediction.mean()}
        if len(matched) == 0:            # no moment in the whole batch: nothing to regress
            zero = spans.sum() * 0.0
            return {"loss_span": zero, "loss_giou": zero, **losses}
        losses["loss_span"] = F.l1_loss(matched, true)
        losses["loss_giou"] = (1 - generalized_temporal_iou_paired(
            span_cxw_to_xx(matched), span_cxw_to_xx(true))).mean()
        return losses

    def saliency_loss(self, outputs: dict, targets: MomentTargets) -> torch.Tensor:
        """Hinge + rank contrastive + negative-pair terms (see the module docstring)."""
        scores = outputs["saliency_scores"].float()                              # (B, T)
        mask = targets.audio_mask.bool()
        inside = targets.saliency.bool() & mask
        outside = ~targets.saliency.bool() & mask
        loss = self._hinge(scores, inside, outside)
        negative = outputs.get("saliency_scores_neg")
        if negative is None:
            return loss + self._rank_contrastive(scores, inside, mask)
        negative = negative.float()
        pushed_down = -F.logsigmoid(-negative)               # -log(1 - sigmoid(s))
        loss = loss + (pushed_down * mask).sum(1).mean()
        return loss + self._rank_contrastive(torch.cat((scores, negative), 1),
                                             torch.cat((inside, torch.zeros_like(inside)), 1),
                                             torch.cat((mask, mask), 1))

    def _hinge(self, scores: torch.Tensor, inside: torch.Tensor,
               outside: torch.Tensor) -> torch.Tensor:
        # every (inside, outside) pair of a recording: (B, T_in, T_out) through broadcasting
        gaps = (self.config.saliency_margin + scores[:, None, :] - scores[:, :, None]).clamp(
            min=0)
        pairs = inside[:, :, None] & outside[:, None, :]
        count = pairs.sum((1, 2))
        usable = count > 0
        if not usable.any():
            return scores.sum() * 0.0
        per_query = (gaps * pairs).sum((1, 2))[usable] / count[usable]
        # QD-DETR's two sampled pairs are summed, divided by B*2 and doubled: 2 x the mean
        return 2 * per_query.sum() / len(scores)

    def _rank_contrastive(self, scores: torch.Tensor, positive: torch.Tensor,
                          mask: torch.Tensor) -> torch.Tensor:
        # binary relevance: QD-DETR's 12 relevance levels reduce to one level, and its
        # average over the levels then divides this one by 12
        logits = torch.where(mask, scores / self.config.contrastive_temperature,
                             torch.full_like(scores, MASKED_SCORE))
        log_probability = logits.log_softmax(1)
        count = positive.sum(1)
        mean_positive = (log_probability * positive).sum(1) / count.clamp(min=1)
        return -(mean_positive * (count > 0)).mean() / RELEVANCE_LEVELS


RELEVANCE_LEVELS = 12       # QD-DETR's saliency levels (TVSum-style scores 1..12)
