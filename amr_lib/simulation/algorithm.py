"""Clotho-Moment simulation (Algorithm 1): recipes of where each captioned clip goes.

The pipeline, one direction:

1. **segment** every background recording of a split into windows of ``segment_s`` seconds
   every ``hop_s`` seconds (60 s / 1 s);
2. **trim** every clip to its audible span in whole seconds (:mod:`amr_lib.simulation.trimming`);
3. **sample** per segment: walk a shuffled list of clips; before each clip add a gap drawn
   from an exponential distribution (mean 30 s); stop when a clip would end past the
   segment's end. Each event gets one of its clip's five captions, a foreground gain
   U(-5, 5) dB, and the segment a background gain U(-25, -15) dB;
4. **label** one query per event: ``relevant_windows = [[onset, onset + length]]`` rounded
   to 0.1 s (Lighthouse JSONL).

A :class:`MixtureRecipe` is tiny; audio is rendered from it on demand by
:mod:`amr_lib.simulation.mixing`. Every number is a :class:`SimulationConfig` value.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from amr_lib.audio import SAMPLE_RATE, resample
from amr_lib.corpora.base import BackgroundCorpus, ClipCorpus, CorpusError
from amr_lib.lighthouse_jsonl import MomentAnnotation
from amr_lib.progress import progress_bar
from amr_lib.simulation.trimming import CODE_THRESHOLD_DB, trim_active_span
from amr_lib.storage.cache import ArtifactCache
from amr_lib.storage.jsonl import read_json_lines, write_json_lines

RECIPE_VERSION = 1


@dataclass(frozen=True)
class SimulationConfig:
    """Every number of Algorithm 1. Defaults follow the authors' released generator."""

    segment_s: float = 60.0                 # background segment (query context) length
    hop_s: float = 1.0                      # between consecutive segment starts
    mean_gap_s: float = 30.0                # mean of the exponential gap before each event
    foreground_gain_db: tuple[float, float] = (-5.0, 5.0)    # vs. original background RMS
    background_gain_db: tuple[float, float] = (-25.0, -15.0)
    trim_threshold_db: float = CODE_THRESHOLD_DB  # the paper's text says 20 dB
    sample_rate: int = SAMPLE_RATE          # Hz of rendered mixtures (released data: 32 kHz)
    label_decimals: int = 1                 # relevant_windows rounding (0.1 s)
    # instances of each drawn clip in a segment, (fewest, most): (1, 1) is the paper's
    # one-event-per-query; e.g. (2, 5) gives queries with several relevant windows
    instances: tuple[int, int] = (1, 1)

    def __post_init__(self) -> None:
        if not (self.segment_s > 0 and self.hop_s > 0 and self.mean_gap_s > 0):
            raise ValueError(f"segment_s, hop_s and mean_gap_s must be positive: {self}")
        for name in ("foreground_gain_db", "background_gain_db"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name} must be (low, high), got {(low, high)}")
            object.__setattr__(self, name, (float(low), float(high)))
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")
        fewest, most = self.instances
        if not 1 <= fewest <= most:
            raise ValueError(f"instances must be (fewest, most) with 1 <= fewest <= most, "
                             f"got {self.instances}")
        object.__setattr__(self, "instances", (int(fewest), int(most)))

    @property
    def multi_moment(self) -> bool:
        return self.instances != (1, 1)

    @classmethod
    def paper(cls) -> SimulationConfig:
        """The released Clotho-Moment: 60 s segments, 1 s hop, mixtures at 32 kHz."""
        return cls(sample_rate=32_000)

    @classmethod
    def real_sounds(cls) -> SimulationConfig:
        """ESC-50 over urban ambience: the recordings last just under a minute and the
        clips at most 5 s, so segments are 30 s; the mean gap of 5 s puts two or more
        events in most recordings, so the model sees different queries on the same audio
        and is tested where a prior of position and length cannot answer (Chapter 7)."""
        return cls(segment_s=30.0, mean_gap_s=5.0)

    def to_json(self) -> dict[str, Any]:
        values = asdict(self)
        if not self.multi_moment:      # absent at (1, 1): earlier descriptions stay equal
            del values["instances"]
        return values

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> SimulationConfig:
        return cls(**{**values, "foreground_gain_db": tuple(values["foreground_gain_db"]),
                      "background_gain_db": tuple(values["background_gain_db"]),
                      "instances": tuple(values.get("instances", (1, 1)))})


@dataclass(frozen=True)
class BackgroundSegment:
    """A window ``[start_s, start_s + duration_s)`` of one background recording."""

    recording_id: str
    start_s: float
    duration_s: float

    @property
    def vid(self) -> str:
        """Clotho-Moment's name: ``{recording}_{start}_{end}`` with one decimal."""
        return f"{self.recording_id}_{self.start_s:.1f}_{self.start_s + self.duration_s:.1f}"


@dataclass(frozen=True)
class TrimmedClip:
    """A clip's audible span ``[start_s, end_s)`` inside the clip, whole seconds."""

    clip_id: str
    captions: tuple[str, ...]
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class EventRecipe:
    """One foreground event: which clip span goes where in the segment, at which level."""

    qid: str
    clip_id: str
    caption: str
    onset_s: float           # start in the segment, seconds
    clip_start_s: float      # start of the trimmed span inside the clip, seconds
    duration_s: float        # trimmed length, seconds
    gain_db: float           # peak-normalised clip level vs. the original background RMS


@dataclass(frozen=True)
class MixtureRecipe:
    """Everything needed to render one mixture and to label its queries."""

    vid: str
    recording_id: str
    start_s: float
    duration_s: float
    background_gain_db: float
    events: tuple[EventRecipe, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["events"] = [asdict(event) for event in self.events]
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> MixtureRecipe:
        events = tuple(EventRecipe(**event) for event in record["events"])
        return cls(**{**record, "events": events})


def segment_backgrounds(corpus: BackgroundCorpus, split: str,
                        config: SimulationConfig) -> list[BackgroundSegment]:
    """Every ``segment_s`` window every ``hop_s`` seconds of each recording of ``split``.

    A recording of length ``L`` gives ``floor((L - segment_s) / hop_s) + 1`` segments.
    Recordings shorter than one segment are refused, by name, with the remedy.
    """
    recordings = corpus.recordings(split)
    too_short = [r for r in recordings if r.duration_s < config.segment_s]
    if too_short:
        names = ", ".join(f"{r.recording_id} ({r.duration_s:.2f} s)" for r in too_short[:5])
        raise CorpusError(
            f"background corpus {corpus.name!r}: {len(too_short)} recording(s) shorter than "
            f"one {config.segment_s:g} s segment: {names}"
            f"{' ...' if len(too_short) > 5 else ''}; use a shorter segment_s")
    segments = []
    for recording in recordings:
        count = math.floor((recording.duration_s - config.segment_s) / config.hop_s + 1e-9) + 1
        segments.extend(
            BackgroundSegment(recording.recording_id, round(i * config.hop_s, 6),
                              config.segment_s) for i in range(count))
    return segments


def trim_clips(corpus: ClipCorpus, split: str, config: SimulationConfig,
               cache: ArtifactCache | None = None) -> list[TrimmedClip]:
    """Trimmed spans of every clip of ``split`` (cached by corpus fingerprint and config).

    Clips with no whole audible second are left out with a warning naming them; a clip
    whose trimmed span is longer than a segment is refused, by name.
    """
    material = {"corpus": corpus.fingerprint(), "split": split,
                "threshold_db": config.trim_threshold_db, "sample_rate": config.sample_rate,
                "version": RECIPE_VERSION}
    infos = corpus.clips(split)

    def build() -> list[list[Any]]:
        spans = []
        for info in progress_bar(infos, desc=f"trimming {corpus.name} {split}", leave=False):
            audio = resample(corpus.load(info.clip_id), corpus.sample_rate, config.sample_rate)
            spans.append([info.clip_id, *trim_active_span(audio, config.sample_rate,
                                                           config.trim_threshold_db)])
        return spans

    spans = (cache or ArtifactCache()).get_or_build_json("trimmed_clips", material, build)
    captions = {info.clip_id: info.captions for info in infos}
    clips = [TrimmedClip(clip_id, captions[clip_id], start, end)
             for clip_id, start, end in spans]
    empty = [c.clip_id for c in clips if c.duration_s <= 0]
    if empty:
        warnings.warn(f"clip corpus {corpus.name!r} ({split}): {len(empty)} clip(s) have no "
                      f"whole audible second and are not used: {empty[:5]}", stacklevel=2)
    too_long = [c for c in clips if c.duration_s > config.segment_s]
    if too_long:
        raise CorpusError(
            f"clip corpus {corpus.name!r} ({split}): clip {too_long[0].clip_id!r} lasts "
            f"{too_long[0].duration_s:g} s after trimming, longer than a "
            f"{config.segment_s:g} s segment ({len(too_long)} such clip(s))")
    return [c for c in clips if c.duration_s > 0]


def sample_recipes(segments: Sequence[BackgroundSegment], clips: Sequence[TrimmedClip],
                   config: SimulationConfig, seed: int) -> list[MixtureRecipe]:
    """Algorithm 1's event placement for each segment (deterministic per ``seed``).

    Walking a freshly shuffled clip list and taking clips until one would end past the
    segment is the same as drawing clips uniformly without replacement, one at a time,
    which is what this does (a full shuffle of thousands of clips per segment is wasted).
    Queries are numbered ``00000, 00001, ...`` in segment order.

    With ``config.instances = (fewest, most)`` other than ``(1, 1)``, each drawn clip is
    due ``k ~ U{fewest..most}`` times: after each gap the next event is, with probability
    one half, a further instance of a clip still due (chosen uniformly), otherwise a new
    clip. Every instance keeps the clip's query (qid and caption) and gets its own gain;
    the walk stops as before, so a query may end with fewer instances than were due.
    """
    if not clips:
        raise CorpusError("no usable clips to place: the clip corpus split is empty")
    rng = np.random.default_rng(seed)
    recipes, next_qid = [], 0
    for segment in segments:
        events, used, clock = [], set(), 0.0
        due: dict[int, list] = {}       # clip index -> [qid, caption, instances still due]
        while due or len(used) < len(clips):
            clock += rng.exponential(config.mean_gap_s)
            again = bool(due) and (len(used) == len(clips) or rng.random() < 0.5)
            index = (list(due)[rng.integers(len(due))] if again
                     else _draw_unused(rng, len(clips), used))
            clip = clips[index]
            onset, clock = clock, clock + clip.duration_s
            if clock > segment.duration_s:
                break
            if again:
                qid, caption, _ = due[index]
                due[index][2] -= 1
                if due[index][2] == 0:
                    del due[index]
            else:
                used.add(index)
                qid, caption = f"{next_qid:05d}", clip.captions[rng.integers(len(clip.captions))]
                next_qid += 1
                if config.multi_moment:
                    extra = int(rng.integers(config.instances[0], config.instances[1] + 1)) - 1
                    if extra:
                        due[index] = [qid, caption, extra]
            gain = rng.uniform(*config.foreground_gain_db)
            events.append(EventRecipe(qid, clip.clip_id, caption, onset, clip.start_s,
                                      clip.duration_s, gain))
        recipes.append(MixtureRecipe(segment.vid, segment.recording_id, segment.start_s,
                                     segment.duration_s,
                                     rng.uniform(*config.background_gain_db), tuple(events)))
    return recipes


def annotations_from_recipes(recipes: Iterable[MixtureRecipe],
                             config: SimulationConfig) -> list[MomentAnnotation]:
    """One Lighthouse annotation per query: its events' windows in time order (one event
    per query unless the simulation placed several instances); segments without events
    give no query."""
    decimals = config.label_decimals
    annotations = []
    for recipe in recipes:
        windows: dict[str, list[list[float]]] = {}
        captions = {}
        for event in recipe.events:
            windows.setdefault(event.qid, []).append(
                [round(event.onset_s, decimals),
                 round(event.onset_s + event.duration_s, decimals)])
            captions[event.qid] = event.caption
        annotations += [MomentAnnotation(qid, captions[qid], recipe.duration_s, recipe.vid,
                                         found) for qid, found in windows.items()]
    return annotations


def write_recipes(path: str | Path, recipes: Iterable[MixtureRecipe]) -> None:
    """Recipes JSONL, one mixture per line, written atomically."""
    write_json_lines(Path(path), (recipe.to_json() for recipe in recipes))


def read_recipes(path: str | Path) -> list[MixtureRecipe]:
    """Read recipes JSONL; a malformed line raises ``ValueError`` naming file and line."""
    path = Path(path)
    recipes = []
    for line_number, record in read_json_lines(path):
        try:
            recipes.append(_checked(MixtureRecipe.from_json(record)))
        except (KeyError, TypeError, ValueError) as problem:
            raise ValueError(f"{path}:{line_number}: not a mixture recipe ({problem})") from None
    if not recipes:
        raise ValueError(f"{path}: empty file, no recipes")
    return recipes


def subsample_segments(segments: Sequence[BackgroundSegment], max_segments: int | None,
                       seed: int) -> list[BackgroundSegment]:
    """At most ``max_segments`` segments drawn uniformly (order kept), or all of them."""
    if max_segments is None or max_segments >= len(segments):
        return list(segments)
    if max_segments < 1:
        raise ValueError(f"max_segments must be at least 1, got {max_segments}")
    keep = np.sort(np.random.default_rng(seed).choice(len(segments), max_segments,
                                                      replace=False))
    return [segments[i] for i in keep]


def _draw_unused(rng: np.random.Generator, count: int, used: set[int]) -> int:
    """A uniformly random index in ``range(count)`` not in ``used`` (``used`` is small)."""
    if len(used) * 2 < count:
        while True:
            index = int(rng.integers(count))
            if index not in used:
                return index
    free = [i for i in range(count) if i not in used]
    return free[int(rng.integers(len(free)))]


def _checked(recipe: MixtureRecipe) -> MixtureRecipe:
    numbers = [recipe.start_s, recipe.duration_s, recipe.background_gain_db]
    for event in recipe.events:
        numbers += [event.onset_s, event.clip_start_s, event.duration_s, event.gain_db]
        if event.onset_s < 0 or event.duration_s <= 0 or event.clip_start_s < 0:
            raise ValueError(f"event {event.qid!r} has a negative time or no length")
        if event.onset_s + event.duration_s > recipe.duration_s + 1e-6:
            raise ValueError(f"event {event.qid!r} ends after its segment")
    if not all(isinstance(n, int | float) and math.isfinite(n) for n in numbers):
        raise ValueError("a time or gain is not a finite number")
    if recipe.duration_s <= 0 or recipe.start_s < 0:
        raise ValueError("segment start/duration out of range")
    return recipe
