"""Render a mixture from its recipe (Clotho-Moment's mixing rule), deterministically.

For a recipe with background gain ``g_bg`` and events with gains ``g_i`` (dB):

- the background segment ``b`` keeps its original power ``P_b = mean(b**2)`` as reference
  and is scaled by ``10**(g_bg / 20)``;
- each event's trimmed clip is peak-normalised, then scaled to ``10**(g_i / 20) * sqrt(P_b)``
  (relative to the *original* background RMS) and added at ``floor(onset * rate)``;
- the mixture is peak-normalised.

The same recipe and corpora always give bit-identical audio.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from amr_lib.audio import db_to_amplitude, mean_power, peak_normalize, resample
from amr_lib.corpora.base import BackgroundCorpus, ClipCorpus
from amr_lib.simulation.algorithm import MixtureRecipe


class MixtureRenderer:
    """Renders recipes at ``sample_rate`` Hz, keeping recently used clips in memory."""

    def __init__(self, clip_corpus: ClipCorpus, background_corpus: BackgroundCorpus,
                 sample_rate: int, max_cached_clips: int = 256) -> None:
        self.clip_corpus = clip_corpus
        self.background_corpus = background_corpus
        self.sample_rate = sample_rate
        self._clips: OrderedDict[str, np.ndarray] = OrderedDict()
        self._max_cached_clips = max_cached_clips

    def render(self, recipe: MixtureRecipe) -> np.ndarray:
        """``(round(duration_s * sample_rate),)`` float32 mixture, peak 1 (or silence)."""
        mixture, events = self._parts(recipe)
        for onset, foreground in events:
            mixture[onset:onset + len(foreground)] += foreground
        return peak_normalize(mixture).astype(np.float32)

    def event_snr_db(self, recipe: MixtureRecipe) -> dict[str, float]:
        """Each event's loudness over the background it is mixed into, by qid: ``10 *
        log10`` of the event's mean power over the scaled background's mean power in the
        same samples (dB; ``inf`` over digital silence)."""
        background, events = self._parts(recipe)
        levels = {}
        for event, (onset, foreground) in zip(recipe.events, events, strict=True):
            under = mean_power(background[onset:onset + len(foreground)])
            over = mean_power(foreground)
            levels[event.qid] = float(10 * np.log10(over / under)) if under > 0 else np.inf
        return levels

    def _parts(self, recipe: MixtureRecipe) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
        """The scaled background ``(length,)`` float64 and each event's ``(onset sample,
        scaled foreground)``, cut to end with the segment."""
        rate = self.sample_rate
        # corpora at another rate are resampled (resample is a no-op at equal rates)
        background = resample(
            self.background_corpus.load(recipe.recording_id, recipe.start_s, recipe.duration_s),
            self.background_corpus.sample_rate, rate)
        length = round(recipe.duration_s * rate)
        background = np.pad(background[:length], (0, max(0, length - len(background))))
        reference_rms = np.sqrt(mean_power(background))
        scaled = background.astype(np.float64) * db_to_amplitude(recipe.background_gain_db)
        events = []
        for event in recipe.events:
            clip = self._clip(event.clip_id)
            start = round(event.clip_start_s * rate)
            foreground = peak_normalize(clip[start:start + round(event.duration_s * rate)])
            foreground = foreground * (db_to_amplitude(event.gain_db) * reference_rms)
            onset = int(event.onset_s * rate)
            events.append((onset, foreground[:max(0, length - onset)]))
        return scaled, events

    def _clip(self, clip_id: str) -> np.ndarray:
        if clip_id in self._clips:
            self._clips.move_to_end(clip_id)
            return self._clips[clip_id]
        clip = resample(self.clip_corpus.load(clip_id), self.clip_corpus.sample_rate,
                        self.sample_rate)
        self._clips[clip_id] = clip
        if len(self._clips) > self._max_cached_clips:
            self._clips.popitem(last=False)
        return clip
