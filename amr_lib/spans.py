"""Temporal spans: format conversions, IoU and generalized IoU.

A span is a pair of numbers in the last axis. The format is in the name (moment_detr's
convention):

- ``_xx``: ``(start, end)``, in seconds or normalised to the recording length;
- ``_cxw``: ``(center, width)``, normalised to ``[0, 1]`` by the recording length
  (what AM-DETR predicts).

Every function accepts numpy arrays or torch tensors and returns the same kind; leading axes
are batch axes. ``*_paired`` functions compare spans element by element (shapes broadcast);
the others compare all pairs: ``(..., N, 2)`` against ``(..., M, 2)`` gives ``(..., N, M)``.

IoU formulas follow Lighthouse's evaluation code operation by operation
(``union = len_a + len_b - intersection``) so that thresholds like ``IoU >= 0.7`` decide the
same way on the same floats. Degenerate pairs whose union is zero (two zero-length spans at
the same point) get IoU 0 instead of NaN, and the division is written so that torch gradients
stay finite there.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch

Spans = TypeVar("Spans", np.ndarray, "torch.Tensor")


def span_xx_to_cxw(spans_xx: Spans) -> Spans:
    """``(..., 2)`` start/end -> ``(..., 2)`` center/width, in the same units."""
    start, end = spans_xx[..., 0], spans_xx[..., 1]
    return _stack([(start + end) / 2, end - start])


def span_cxw_to_xx(spans_cxw: Spans) -> Spans:
    """``(..., 2)`` center/width -> ``(..., 2)`` start/end, in the same units."""
    center, width = spans_cxw[..., 0], spans_cxw[..., 1]
    return _stack([center - width / 2, center + width / 2])


def temporal_iou_paired(spans_a_xx: Spans, spans_b_xx: Spans) -> Spans:
    """Elementwise temporal IoU of broadcastable ``(..., 2)`` start/end spans -> ``(...)``."""
    intersection, union, _ = _overlap(spans_a_xx, spans_b_xx)
    return _safe_ratio(intersection, union)


def temporal_iou(spans_a_xx: Spans, spans_b_xx: Spans) -> Spans:
    """All-pairs temporal IoU: ``(..., N, 2)`` x ``(..., M, 2)`` -> ``(..., N, M)``."""
    return temporal_iou_paired(spans_a_xx[..., :, None, :], spans_b_xx[..., None, :, :])


def generalized_temporal_iou_paired(spans_a_xx: Spans, spans_b_xx: Spans) -> Spans:
    """Elementwise generalized IoU (Rezatofighi et al., 2019), in ``[-1, 1]``.

    ``gIoU = IoU - (hull - union) / hull`` where ``hull`` is the length of the smallest span
    covering both. Unlike IoU it keeps decreasing as disjoint spans move apart, which is what
    makes it useful as a training loss.
    """
    intersection, union, hull = _overlap(spans_a_xx, spans_b_xx)
    return _safe_ratio(intersection, union) - _safe_ratio(hull - union, hull)


def generalized_temporal_iou(spans_a_xx: Spans, spans_b_xx: Spans) -> Spans:
    """All-pairs generalized IoU: ``(..., N, 2)`` x ``(..., M, 2)`` -> ``(..., N, M)``."""
    return generalized_temporal_iou_paired(
        spans_a_xx[..., :, None, :], spans_b_xx[..., None, :, :]
    )


def _overlap(spans_a_xx: Spans, spans_b_xx: Spans) -> tuple[Spans, Spans, Spans]:
    """Intersection, union and hull lengths of broadcastable start/end spans."""
    torch_input = _is_torch(spans_a_xx)
    xp = sys.modules["torch"] if torch_input else np
    maximum, minimum = xp.maximum, xp.minimum
    start_a, end_a = spans_a_xx[..., 0], spans_a_xx[..., 1]
    start_b, end_b = spans_b_xx[..., 0], spans_b_xx[..., 1]
    overlap = minimum(end_a, end_b) - maximum(start_a, start_b)
    intersection = overlap.clamp(min=0) if torch_input else np.clip(overlap, 0, None)
    union = ((end_a - start_a) + (end_b - start_b)) - intersection
    hull = maximum(end_a, end_b) - minimum(start_a, start_b)
    return intersection, union, hull


def _safe_ratio(numerator: Spans, denominator: Spans) -> Spans:
    """``numerator / denominator`` with 0 where the denominator is 0 (no NaN, finite grads)."""
    positive = denominator > 0
    if _is_torch(denominator):
        torch = sys.modules["torch"]
        ones = torch.ones_like(denominator)
        return torch.where(positive, numerator / torch.where(positive, denominator, ones), 0.0)
    safe = np.where(positive, denominator, 1.0)
    return np.where(positive, numerator / safe, 0.0)


def _stack(parts: list[Spans]) -> Spans:
    if _is_torch(parts[0]):
        return sys.modules["torch"].stack(parts, dim=-1)
    return np.stack(parts, axis=-1)


def _is_torch(x: object) -> bool:
    # torch is imported only by callers that use it: a tensor implies torch is loaded, and
    # numpy-only users (metrics, the `amr evaluate` command) skip its ~1 s import.
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def merge_overlapping(spans_xx: np.ndarray) -> np.ndarray:
    """``(N, 2)`` spans -> ``(M, 2)`` disjoint spans covering the same time, sorted by
    start; spans that overlap or touch become one (numpy only)."""
    spans = np.asarray(spans_xx, dtype=np.float64).reshape(-1, 2)
    spans = spans[np.argsort(spans[:, 0], kind="stable")]
    merged: list[list[float]] = []
    for start, end in spans.tolist():
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return np.array(merged, dtype=np.float64).reshape(-1, 2)
