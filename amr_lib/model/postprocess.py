"""From the model's K normalised spans to ranked moments in seconds.

Per query: score = foreground probability; spans ``(center, width)`` -> ``(start, end)``,
scaled by the length the frames cover, clamped to ``[0, duration]`` and rounded to a
multiple of the clip length (the feature hop, 1 s); the top 10 by score, best first. No
non-maximum suppression, as in Lighthouse's QD-DETR evaluation (the paper describes no
post-processing beyond comparing the scores with a threshold, Section IV-B).

Where this differs from Lighthouse: Lighthouse clamps every Clotho-Moment prediction to a
fixed ``[0, 150]`` s (its ``max_ts_val`` for the dataset) before rounding, so on a 60 s
recording a span may end past the recording. We clamp to the recording's own duration,
which is the better rule for users (a moment never ends after the audio does) and can
only raise IoU. Pass ``clamp_s`` to reproduce Lighthouse's fixed ceiling instead.
"""

from __future__ import annotations

import numpy as np
import torch

from amr_lib.model.matcher import FOREGROUND
from amr_lib.spans import span_cxw_to_xx

TOP_K = 10
LIGHTHOUSE_CLOTHO_MOMENT_CLAMP_S = 150.0     # Lighthouse's max_ts_val for Clotho-Moment


def ranked_moments(pred_logits: torch.Tensor, pred_spans: torch.Tensor,
                   length_s: torch.Tensor, duration_s: torch.Tensor, clip_s: float,
                   top_k: int = TOP_K, clamp_s: float | None = None) -> np.ndarray:
    """``pred_logits (B, K, 2)``, ``pred_spans (B, K, 2)`` normalised cxw, ``length_s (B,)``
    seconds covered by the frames, ``duration_s (B,)`` recording lengths ->
    ``(B, min(K, top_k), 3)`` float64 ``[start_s, end_s, score]`` rows, best first.
    ``clamp_s`` replaces each duration by one fixed ceiling (Lighthouse: 150 s)."""
    score = pred_logits.float().softmax(-1)[..., FOREGROUND].double()           # (B, K)
    length_s = torch.as_tensor(length_s, dtype=torch.float64, device=score.device)
    duration_s = torch.as_tensor(duration_s, dtype=torch.float64, device=score.device)
    if clamp_s is not None:
        duration_s = torch.full_like(duration_s, clamp_s)
    spans = span_cxw_to_xx(pred_spans.double()) * length_s[:, None, None]       # (B, K, 2)
    spans = torch.minimum(spans.clamp(min=0), duration_s[:, None, None])
    spans = torch.round(spans / clip_s) * clip_s
    order = score.argsort(dim=1, descending=True, stable=True)[:, :top_k]
    rows = torch.cat((spans.gather(1, order[..., None].expand(-1, -1, 2)),
                      score.gather(1, order)[..., None]), dim=-1)
    return rows.cpu().numpy()
