"""Frame features of a long recording, read and embedded block by block.

An hour of 16 kHz audio is 230 MB as float32, and the encoder's intermediate arrays are
several times that; the features are only ``T x D`` floats. So a long file is read in
blocks of ``block_s`` seconds, each with a margin of whole hops on both sides (enough for
a window centred on the block's first and last frame, plus room for the encoder's
resampling filter), embedded, and trimmed back to its own frames. Frame ``t`` sees the same
samples as it would in one pass over the whole file, zeros beyond the recording included,
so the result equals the encoder's ``embed_windows`` on the whole file (up to float
rounding; when the encoder resamples, windows reaching past the file's ends also keep the
resampling filter's ringing beyond the last sample, a difference of about 0.1 %), and peak
memory is set by ``block_s``, not by the recording's length.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from amr_lib.audio import audio_info, load_audio
from amr_lib.features.windows import WindowConfig, num_frames
from amr_lib.progress import progress_bar

DEFAULT_BLOCK_S = 300.0         # 5 minutes: 19 MB of 16 kHz float32 audio per block
RESAMPLING_MARGIN_S = 1.0       # beyond the window, so filter edges touch only margin frames


def embed_file(encoder, path: str | Path, window: WindowConfig,
               block_s: float = DEFAULT_BLOCK_S, progress: bool = False) -> np.ndarray:
    """``(T, D)`` features of the audio file at ``path`` (``T = floor(duration / hop_s)``)
    from ``encoder`` (anything with ``embed_windows(audio, sample_rate, window)``).

    Raises ``FileNotFoundError`` or :class:`amr_lib.audio.AudioError` naming the file, and
    the encoder's ``ValueError`` for audio shorter than one window. ``progress`` shows a
    bar over the blocks of a long file.
    """
    if block_s <= 0:
        raise ValueError(f"block_s must be positive, got {block_s}")
    samples, rate = audio_info(path)
    hop = window.hop_s
    total = num_frames(samples / rate, hop)
    block_frames = max(1, math.floor(block_s / hop))
    if total <= block_frames:
        audio, rate = load_audio(path)
        return encoder.embed_windows(audio, rate, window)
    margin = math.ceil((max(window.window_s - hop, 0) / 2 + RESAMPLING_MARGIN_S) / hop)
    blocks = []
    for first in progress_bar(range(0, total, block_frames), enabled=progress,
                              desc=f"embedding {Path(path).name}", unit="block"):
        count = min(block_frames, total - first)
        audio = padded_range(path, samples, rate, round((first - margin) * hop * rate),
                             round((first + count + margin) * hop * rate))
        frames = encoder.embed_windows(audio, rate, window)       # (count + 2 margin, D)
        blocks.append(frames[margin:margin + count])
    return np.concatenate(blocks)


def padded_range(path: str | Path, samples: int, rate: int, start: int, stop: int
                 ) -> np.ndarray:
    """Samples ``[start, stop)`` of the file as mono float32, zeros outside ``[0, samples)``."""
    inside_start, inside_stop = max(start, 0), min(stop, samples)
    audio, _ = load_audio(path, start_s=inside_start / rate,
                          duration_s=(inside_stop - inside_start) / rate)
    return np.pad(audio, (inside_start - start, stop - inside_start - len(audio)))
