"""Hungarian matching between predicted and ground-truth moments (DETR's set assignment).

For each recording, the cost of giving ground-truth moment ``j`` to prediction ``i`` is::

    cost[i, j] = w_l1 * |span_i - gt_j|_1 - w_giou * gIoU(span_i, gt_j) - w_label * p_i(fg)

with spans as normalised ``(center, width)`` for the L1 term and converted to start/end for
gIoU. scipy's ``linear_sum_assignment`` finds the one-to-one assignment of minimal total
cost; predictions left unmatched are trained as background. The weights are QD-DETR's
(Lighthouse's), 10, 1 and 4: the paper follows QD-DETR's settings (Section V-A) and states
no values; its Eq. (9) writes the class term unweighted.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from amr_lib.spans import generalized_temporal_iou, span_cxw_to_xx

FOREGROUND = 0          # class index of "a moment" in the 2-way classifier (1: background)


@dataclass(frozen=True)
class MatcherConfig:
    span_l1: float = 10.0
    span_giou: float = 1.0
    label: float = 4.0


class HungarianMatcher(nn.Module):
    """Index pairs ``(prediction, target)`` per recording, minimising the matching cost."""

    def __init__(self, config: MatcherConfig | None = None) -> None:
        super().__init__()
        self.config = config or MatcherConfig()

    @torch.no_grad()
    def forward(self, pred_logits: torch.Tensor, pred_spans: torch.Tensor,
                target_spans: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Match each recording's predictions to its targets.

        ``pred_logits``: ``(B, K, 2)`` class logits; ``pred_spans``: ``(B, K, 2)`` normalised
        ``(center, width)``; ``target_spans``: ``B`` tensors ``(G_b, 2)`` in the same format.
        Returns ``B`` pairs of int64 index tensors ``(pred_index, target_index)`` of length
        ``min(K, G_b)``, sorted by prediction index.
        """
        # imported here: `amr retrieve` reads FOREGROUND from this module but never matches
        from scipy.optimize import linear_sum_assignment

        if len(target_spans) != len(pred_spans):
            raise ValueError(f"{len(pred_spans)} recordings of predictions but "
                             f"{len(target_spans)} of targets")
        foreground = pred_logits.float().softmax(-1)[..., FOREGROUND]          # (B, K)
        counts = [len(targets) for targets in target_spans]
        spans = pred_spans.float()
        # the whole batch's costs at once (targets padded to the longest), one host copy
        padded = torch.zeros(len(counts), max(counts, default=0), 2, dtype=spans.dtype,
                             device=spans.device)
        for b, targets in enumerate(target_spans):
            padded[b, :counts[b]] = targets.to(spans)
        costs = self.cost(spans, foreground, padded).cpu().numpy()             # (B, K, G)
        matches = []
        for cost, count in zip(costs, counts, strict=True):
            rows, columns = linear_sum_assignment(cost[:, :count])
            matches.append((torch.as_tensor(rows, dtype=torch.int64),
                            torch.as_tensor(columns, dtype=torch.int64)))
        return matches

    def cost(self, spans: torch.Tensor, foreground: torch.Tensor,
             targets: torch.Tensor) -> torch.Tensor:
        """``(..., K, G)`` cost of giving target ``j`` to prediction ``i`` (module
        docstring). ``spans (..., K, 2)`` and ``targets (..., G, 2)`` normalised cxw;
        ``foreground (..., K)`` probabilities of the moment class.
        """
        l1 = (spans[..., :, None, :] - targets[..., None, :, :]).abs().sum(-1)  # (..., K, G)
        return (self.config.span_l1 * l1
                - self.config.span_giou * generalized_temporal_iou(
                    span_cxw_to_xx(spans), span_cxw_to_xx(targets))
                - self.config.label * foreground[..., None])
