"""Foreground trimming in whole 1 s frames (Clotho-Moment, Algorithm 1).

A clip keeps the span from the first to the last whole second whose mean power exceeds
the clip's mean power minus ``threshold_db``. The released generator uses 5 dB; the paper's
text says 20 dB. A trailing partial second is never kept, so trimmed lengths are whole
seconds, as in the released annotations.
"""

from __future__ import annotations

import numpy as np

FRAME_S = 1.0                 # trimming resolution: whole seconds
CODE_THRESHOLD_DB = 5.0       # released generator (default here)
PAPER_THRESHOLD_DB = 20.0     # the paper's text


def trim_active_span(audio: np.ndarray, sample_rate: int,
                     threshold_db: float = CODE_THRESHOLD_DB) -> tuple[float, float]:
    """``(start_s, end_s)`` of the audible span of a ``(N,)`` clip, in whole seconds.

    A clip shorter than one second, or with no second above the threshold, keeps all of
    its whole seconds (as the released generator does); a clip with no whole second gives
    ``(0.0, 0.0)``.
    """
    frame = round(FRAME_S * sample_rate)
    num_frames = len(audio) // frame
    if num_frames == 0:
        return 0.0, 0.0
    frames = audio[: num_frames * frame].astype(np.float64).reshape(num_frames, frame)
    frame_power = np.mean(frames**2, axis=1)                          # (num_frames,)
    threshold = np.mean(np.square(audio, dtype=np.float64)) * 10 ** (-threshold_db / 10)
    loud = np.flatnonzero(frame_power > threshold)
    if loud.size == 0:
        return 0.0, num_frames * FRAME_S
    return float(loud[0] * FRAME_S), float((loud[-1] + 1) * FRAME_S)
