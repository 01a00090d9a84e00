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

Beyond the paper (all off by default, so the paper's losses and numbers are unchanged):

- ``loss_presence`` (``presence`` > 0): binary cross-entropy of the model's presence logit
  against whether the text's sound is in the recording;
- ``loss_other`` (``other_events`` > 0): the margin hinge between the queried event's
  frames and the frames of the recording's *other* events, so a query must win over the
  sounds that are also there; and an unmatched prediction lying more on another event than
  on its own moment is background at full weight, as an absent pair's predictions are;
- ``absent_moments="ignore"``: absent pairs leave the moment and saliency losses (the
  presence head alone learns from them);
- checked negatives (targets with ``negative_ok``): a rolled negative pair whose text names
  a sound the recording holds is left out of the negative terms.

Targets for a batch of B queries: ``spans_cxw``, B tensors ``(G_b, 2)``; ``saliency``
``(B, T)`` with 1 on frames inside a moment; ``audio_mask (B, T)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from amr_lib.model.data import MomentTargets
from amr_lib.model.matcher import FOREGROUND, HungarianMatcher, MatcherConfig
from amr_lib.spans import generalized_temporal_iou_paired, span_cxw_to_xx, temporal_iou

BACKGROUND = 1 - FOREGROUND
MASKED_SCORE = -1e3        # stands in for a padded frame's score in the softmax
ABSENT_MOMENTS = ("background", "ignore")
# the beyond-the-paper options of LossConfig and their defaults (the paper's losses)
BEYOND = {"presence": 0.0, "other_events": 0.0, "absent_moments": "background"}


@dataclass(frozen=True)
class LossConfig:
    """Weights of the named losses and the saliency loss's constants: QD-DETR's (Lighthouse's)
    values, which the paper takes on by following QD-DETR (Section V-A; it states none)."""

    span_l1: float = 10.0
    span_giou: float = 1.0
    label: float = 4.0
    saliency: float = 1.0
    background_weight: float = 0.1      # CE class weight of "background" (DETR's eos_coef)
    saliency_margin: float = 0.2
    contrastive_temperature: float = 0.5
    matcher: MatcherConfig = field(default_factory=MatcherConfig)
    presence: float = 0.0               # beyond the paper: see the module docstring
    other_events: float = 0.0
    absent_moments: str = "background"  # background | ignore

    def __post_init__(self) -> None:
        if self.absent_moments not in ABSENT_MOMENTS:
            raise ValueError(f"absent_moments must be one of {', '.join(ABSENT_MOMENTS)}, "
                             f"got {self.absent_moments!r}")
        if self.presence < 0 or self.other_events < 0:
            raise ValueError("loss weights must be at least 0")

    @property
    def beyond(self) -> bool:
        """Does any beyond-the-paper option differ from its default?"""
        return any(getattr(self, name) != default for name, default in BEYOND.items())

    def to_json(self) -> dict[str, Any]:
        """Every field; the beyond-the-paper ones only when one of them is switched on, so
        the paper's configuration (and every run keyed on it) reads as before they
        existed, and a later change of their defaults changes every key that uses them."""
        values = asdict(self)
        if not self.beyond:
            for name in BEYOND:
                del values[name]
        return values

    def weight(self, name: str) -> float:
        """Weight of a loss by name (``loss_span_0`` weighs as ``loss_span``)."""
        base = name.removeprefix("loss_").rstrip("0123456789").rstrip("_")
        return {"span": self.span_l1, "giou": self.span_giou, "label": self.label,
                "saliency": self.saliency, "presence": self.presence,
                "other": self.other_events}[base]


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
        config = self.config
        losses = {}
        if config.presence:
            if "presence_logits" not in outputs:
                raise ValueError("the presence loss needs a model with a presence head")
            losses["loss_presence"] = F.binary_cross_entropy_with_logits(
                outputs["presence_logits"].float(), targets.present.float())
        if config.absent_moments == "ignore" and targets.present is not None:
            if not targets.present.any():        # nothing left for the moment losses
                zero = outputs["pred_spans"].sum() * 0.0
                return losses | {"loss_saliency": zero}
            outputs, targets = present_only(outputs, targets)
        other = targets.other_spans_cxw if config.other_events else None
        losses.update(self.set_losses(outputs, targets.spans_cxw, other))
        for index, aux in enumerate(outputs.get("aux_outputs", [])):
            losses.update({f"{name}_{index}": value for name, value in
                           self.set_losses(aux, targets.spans_cxw, other).items()})
        losses["loss_saliency"] = self.saliency_loss(outputs, targets)
        if config.other_events:
            if targets.other is None:
                raise ValueError("the other-events loss needs targets with the other "
                                 "events (MomentSplit.batch(classes=True))")
            mask = targets.audio_mask.bool()
            inside = targets.saliency.bool() & mask
            # a frame where the queried event overlaps another is the query's, not a rival
            losses["loss_other"] = self._hinge(outputs["saliency_scores"].float(), inside,
                                               targets.other.bool() & mask & ~inside)
        return losses

    def total(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        """The weighted sum the optimiser minimises."""
        return sum(self.config.weight(name) * value for name, value in losses.items())

    def set_losses(self, outputs: dict, spans_cxw: list[torch.Tensor],
                   other_spans_cxw: list[torch.Tensor] | None = None
                   ) -> dict[str, torch.Tensor]:
        """Span L1, gIoU and label losses of one decoder layer's predictions; with
        ``other_spans_cxw`` (B x ``(M_b, 2)``, the recording's other events), an unmatched
        prediction that overlaps another event more than its own moments is background at
        full weight."""
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
        full = absent[:, None].expand_as(per_prediction)
        if other_spans_cxw is not None:
            full = full | (on_other_event(spans, spans_cxw, other_spans_cxw)
                           & (classes == BACKGROUND))
        per_prediction = torch.where(full, per_prediction / self.config.background_weight,
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
        # a checked negative pair whose text names a sound the recording holds is no
        # negative: its frames are neither pushed down nor contrasted
        negative_mask = mask if targets.negative_ok is None else (
            mask & targets.negative_ok[:, None])
        pushed_down = -F.logsigmoid(-negative)               # -log(1 - sigmoid(s))
        loss = loss + (pushed_down * negative_mask).sum(1).mean()
        return loss + self._rank_contrastive(torch.cat((scores, negative), 1),
                                             torch.cat((inside, torch.zeros_like(inside)), 1),
                                             torch.cat((mask, negative_mask), 1))

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


def on_other_event(spans: torch.Tensor, spans_cxw: list[torch.Tensor],
                   other_spans_cxw: list[torch.Tensor]) -> torch.Tensor:
    """``(B, K)``: prediction k of pair b overlaps one of the recording's other events
    (IoU) more than any of its own moments (an absent pair has none of its own)."""
    out = torch.zeros(spans.shape[:2], dtype=torch.bool, device=spans.device)
    for b, (own, other) in enumerate(zip(spans_cxw, other_spans_cxw, strict=True)):
        if len(other) == 0:
            continue
        predicted = span_cxw_to_xx(spans[b].detach())
        on_other = temporal_iou(predicted, span_cxw_to_xx(other.to(spans))).amax(1)
        on_own = (temporal_iou(predicted, span_cxw_to_xx(own.to(spans))).amax(1)
                  if len(own) else torch.zeros_like(on_other))
        out[b] = on_other > on_own
    return out


def present_only(outputs: dict, targets: MomentTargets) -> tuple[dict, MomentTargets]:
    """The outputs and targets of the present pairs of a batch (absent pairs ignored)."""
    keep = targets.present
    index = torch.nonzero(keep).squeeze(1)

    def rows(values: dict) -> dict:
        return {key: value[keep] if isinstance(value, torch.Tensor) else value
                for key, value in values.items() if key != "aux_outputs"}

    kept = rows(outputs)
    if "aux_outputs" in outputs:
        kept["aux_outputs"] = [rows(aux) for aux in outputs["aux_outputs"]]
    chosen = index.tolist()
    return kept, MomentTargets(
        spans_cxw=[targets.spans_cxw[i] for i in chosen], saliency=targets.saliency[keep],
        audio_mask=targets.audio_mask[keep], present=targets.present[keep],
        other=None if targets.other is None else targets.other[keep],
        other_spans_cxw=None if targets.other_spans_cxw is None
        else [targets.other_spans_cxw[i] for i in chosen],
        negative_ok=None if targets.negative_ok is None else targets.negative_ok[keep])
