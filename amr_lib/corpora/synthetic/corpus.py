"""The embedded synthetic corpora: procedural captioned clips and procedural walking tours.

Nothing is shipped or downloaded: a clip is a pure function of ``(seed, clip id)`` and a
recording a pure function of ``(seed, recording id)``, synthesised on demand.

- :class:`SyntheticClipCorpus`: ``clips_per_class`` clips of each of the sound classes in
  :data:`~amr_lib.corpora.synthetic.sounds.SOUND_CLASSES`, five captions each, split about
  70/15/15 within each class. Metadata is cheap; audio is made in :meth:`~SyntheticClipCorpus.load`.
  Audible spans follow the released Clotho-Moment event lengths (1-30 s, mean 19.6 s).
- :class:`SyntheticBackgroundCorpus`: ``num_recordings`` long walks of drifting ambience
  with rare far-away foreground-like sounds, split 7:1:2 by recording.
"""

from __future__ import annotations

import math
import zlib
from collections import OrderedDict
from numbers import Real
from typing import Any

import numpy as np

from amr_lib.audio import SAMPLE_RATE, resample
from amr_lib.corpora.base import (
    SPLITS,
    BackgroundCorpus,
    ClipCorpus,
    ClipInfo,
    CorpusError,
    RecordingInfo,
    split_by_recording,
)
from amr_lib.corpora.synthetic.ambience import WalkPlan, plan_walk, render_walk
from amr_lib.corpora.synthetic.captions import make_captions
from amr_lib.corpora.synthetic.params import ClipParams, sample_params
from amr_lib.corpora.synthetic.sounds import SOUND_CLASSES, SYNTH_RATE, render_clip, spec_of

GENERATOR_VERSION = "synthetic-2"     # bump whenever any synthesis or caption output changes
DEFAULT_CLIPS_PER_CLASS = 40
CLIP_SPLIT_SHARES = (0.70, 0.15, 0.15)   # train / valid / test, within each class
MIN_RECORDING_S = 60.0                # one simulation segment
DEFAULT_RECORDING_S = 300.0
DEFAULT_NUM_RECORDINGS = 10
RECORDING_CACHE_SIZE = 2              # whole recordings kept in memory (19 MB per 5 min)
PARAMS_STREAM, CAPTIONS_STREAM, SPLIT_STREAM, PLAN_STREAM = 0, 1, 2, 3   # RNG stream tags


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _stream(seed: int, key: str, tag: int) -> np.random.Generator:
    """A generator that depends only on ``(seed, key, tag)`` (CRC-32 of the key)."""
    return np.random.default_rng([seed, zlib.crc32(key.encode("utf-8")), tag])


def _to_rate(audio: np.ndarray, sample_rate: int, length: int | None = None) -> np.ndarray:
    """``(n,)`` at ``SYNTH_RATE`` -> float32 at ``sample_rate``, cut or padded to ``length``,
    rescaled if resampling pushed the peak over 1."""
    out = resample(audio, SYNTH_RATE, sample_rate)
    if length is not None:
        out = np.pad(out, (0, max(0, length - len(out))))[:length]
    top = float(np.max(np.abs(out))) if out.size else 0.0
    return (out / top if top > 1.0 else out).astype(np.float32, copy=False)


class SyntheticClipCorpus(ClipCorpus):
    """Procedural sound-event clips with five parameter-true captions each.

    Clip ids are ``"<class>-<index:04d>"`` (``"dog_bark-0007"``). ``load`` returns ``(N,)``
    float32 mono at ``sample_rate`` Hz, peak <= 1, at most 30 s long.
    """

    name = "synthetic"

    def __init__(self, seed: int = 0, clips_per_class: int = DEFAULT_CLIPS_PER_CLASS,
                 sample_rate: int = SAMPLE_RATE) -> None:
        self.seed = _check_seed(seed)
        self.clips_per_class = _check_positive_int(clips_per_class, "clips_per_class")
        self.sample_rate = _check_positive_int(sample_rate, "sample_rate")
        self._infos: tuple[ClipInfo, ...] | None = None
        self._params: dict[str, ClipParams] = {}

    @property
    def classes(self) -> tuple[str, ...]:
        """The sound class names, in corpus order."""
        return SOUND_CLASSES

    def _class_splits(self, sound: str) -> list[str]:
        """Split of each clip index of one class: shuffled, then cut 70/15/15."""
        count = self.clips_per_class
        held_out = [max(1, round(share * count)) if count >= len(SPLITS) else 0
                    for share in CLIP_SPLIT_SHARES[1:]]
        labels = (["train"] * (count - sum(held_out)) + ["valid"] * held_out[0]
                  + ["test"] * held_out[1])
        order = _stream(self.seed, sound, SPLIT_STREAM).permutation(count)
        return [labels[int(position)] for position in np.argsort(order)]

    def _clip_infos(self) -> tuple[ClipInfo, ...]:
        if self._infos is None:
            infos = []
            for sound in SOUND_CLASSES:
                for index, split in enumerate(self._class_splits(sound)):
                    clip_id = f"{sound}-{index:04d}"
                    params = sample_params(spec_of(sound),
                                           _stream(self.seed, clip_id, PARAMS_STREAM))
                    captions = make_captions(params, _stream(self.seed, clip_id,
                                                             CAPTIONS_STREAM))
                    self._params[clip_id] = params
                    infos.append(ClipInfo(clip_id, captions, split))
            self._infos = tuple(infos)
        return self._infos

    def parameters(self, clip_id: str) -> ClipParams:
        """The parameters the clip was synthesised and captioned from (count, pitch ...)."""
        self._clip_infos()
        try:
            return self._params[clip_id]
        except KeyError:
            raise CorpusError(f"clip corpus {self.name!r} (seed {self.seed}, "
                              f"{self.clips_per_class} clips per class) has no clip "
                              f"{clip_id!r}") from None

    def category(self, clip_id: str) -> str:
        """The clip's sound class (``"dog_bark"`` for ``"dog_bark-0007"``)."""
        self.parameters(clip_id)
        return clip_id.rsplit("-", 1)[0]

    def load(self, clip_id: str) -> np.ndarray:
        """``(N,)`` float32 at ``sample_rate`` Hz: quiet lead-in, the sound, quiet tail."""
        audio = render_clip(self.parameters(clip_id))
        if self.sample_rate != SYNTH_RATE:
            audio = _to_rate(audio, self.sample_rate)
        return audio

    def fingerprint(self) -> dict[str, Any]:
        return {"name": self.name, "version": GENERATOR_VERSION, "seed": self.seed,
                "clips_per_class": self.clips_per_class, "sample_rate": self.sample_rate,
                "num_classes": len(SOUND_CLASSES)}


class SyntheticBackgroundCorpus(BackgroundCorpus):
    """Procedural walking-tour recordings of slowly drifting city and park ambience.

    Recording ids are ``"synthetic_walk_03"``. Each whole recording is synthesised once
    and kept in a small in-memory LRU cache, so a range is always a slice of the same
    audio, whether the whole recording or a range was asked for first.
    """

    name = "synthetic_walks"

    def __init__(self, seed: int = 0, num_recordings: int = DEFAULT_NUM_RECORDINGS,
                 recording_s: float = DEFAULT_RECORDING_S, sample_rate: int = SAMPLE_RATE,
                 cache_size: int = RECORDING_CACHE_SIZE) -> None:
        self.seed = _check_seed(seed)
        self.num_recordings = _check_positive_int(num_recordings, "num_recordings")
        if not (isinstance(recording_s, Real) and not isinstance(recording_s, bool)
                and math.isfinite(recording_s) and recording_s >= MIN_RECORDING_S):
            raise ValueError(f"recording_s must be at least {MIN_RECORDING_S:g} s (one "
                             f"simulation segment), got {recording_s!r}")
        self.recording_s = float(recording_s)
        self.sample_rate = _check_positive_int(sample_rate, "sample_rate")
        self.cache_size = _check_positive_int(cache_size, "cache_size")
        width = max(2, len(str(self.num_recordings - 1)))
        self._ids = tuple(f"synthetic_walk_{i:0{width}d}" for i in range(self.num_recordings))
        self._num_samples = round(self.recording_s * self.sample_rate)
        splits = split_by_recording(self._ids, self.seed)
        self._infos = tuple(RecordingInfo(rid, self._num_samples / self.sample_rate,
                                          splits[rid]) for rid in self._ids)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def _recording_infos(self) -> tuple[RecordingInfo, ...]:
        return self._infos

    def _check_id(self, recording_id: str) -> None:
        if recording_id not in self._ids:
            raise CorpusError(f"background corpus {self.name!r} (seed {self.seed}, "
                              f"{self.num_recordings} recordings) has no recording "
                              f"{recording_id!r}")

    def plan(self, recording_id: str) -> WalkPlan:
        """The scenes and far-away distractor sounds of one recording (no audio made)."""
        self._check_id(recording_id)
        return plan_walk(self.recording_s, _stream(self.seed, recording_id, PLAN_STREAM))

    def _whole(self, recording_id: str) -> np.ndarray:
        """The whole recording, ``(round(recording_s * sample_rate),)`` float32, cached."""
        if recording_id in self._cache:
            self._cache.move_to_end(recording_id)
            return self._cache[recording_id]
        audio = render_walk(self.plan(recording_id))
        if self.sample_rate != SYNTH_RATE or len(audio) != self._num_samples:
            audio = _to_rate(audio, self.sample_rate, self._num_samples)
        audio.flags.writeable = False
        self._cache[recording_id] = audio
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return audio

    def load(self, recording_id: str, start_s: float = 0.0,
             duration_s: float | None = None) -> np.ndarray:
        """``(N,)`` float32 at ``sample_rate`` Hz from ``start_s`` for ``duration_s`` seconds
        (to the end when None); a range past either end raises
        :class:`~amr_lib.corpora.base.CorpusError`."""
        self._check_id(recording_id)
        length_s = self._num_samples / self.sample_rate
        start = round(start_s * self.sample_rate)
        stop = self._num_samples if duration_s is None else start + round(
            duration_s * self.sample_rate)
        if start_s < 0 or start >= self._num_samples or stop > self._num_samples or (
                duration_s is not None and duration_s <= 0):
            asked = "to the end" if duration_s is None else f"for {duration_s:g} s"
            raise CorpusError(f"background corpus {self.name!r}: recording {recording_id!r} "
                              f"is {length_s:g} s long; cannot load from {start_s:g} s "
                              f"{asked}")
        return self._whole(recording_id)[start:stop].copy()

    def fingerprint(self) -> dict[str, Any]:
        return {"name": self.name, "version": GENERATOR_VERSION, "seed": self.seed,
                "num_recordings": self.num_recordings, "recording_s": self.recording_s,
                "sample_rate": self.sample_rate}
