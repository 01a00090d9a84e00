"""Recordings for zero-shot sound event detection (SED), labelled by sound class.

Where Clotho-Moment gives each query one clip, an SED recording holds several events of
several classes that may overlap, as in TUT Sound Events 2017: ``K ~ U{fewest..most}``
events per background segment, each a trimmed clip of a uniformly drawn class at a uniform
onset (so events of two classes overlap, and a class may occur more than once). The
detector is then asked about every class of the corpus on every recording, with one
prompt per class ("the sound of dog"); a class's reference is all of its events.

The recordings come back as a :class:`~amr_lib.simulation.clotho_moment.SimulatedSplit` (they render
and are featurised like any mixture) whose annotations hold one query per (recording,
class present), the class's windows merged where its events overlap, with qid
``"{vid}:{class}"``; the :class:`~amr_lib.sed.scoring.SedTask` holds every event for frame scoring.
Classes come from the clip corpus (:meth:`~amr_lib.corpora.base.ClipCorpus.category`):
ESC-50's 50 categories or the synthetic corpus's classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from amr_lib.corpora import CorpusSpec, make_background_corpus, make_clip_corpus
from amr_lib.corpora.base import CorpusError
from amr_lib.sed.scoring import SedEvent, SedTask
from amr_lib.simulation.algorithm import (
    BackgroundSegment,
    EventRecipe,
    MixtureRecipe,
    SimulationConfig,
    TrimmedClip,
    annotations_from_recipes,
    segment_backgrounds,
    subsample_segments,
    trim_clips,
)
from amr_lib.simulation.clotho_moment import SimulatedSplit
from amr_lib.spans import merge_overlapping


@dataclass(frozen=True)
class SedSetConfig:
    """``events``: (fewest, most) events per recording; ``prompt``: the query of a class,
    ``{}`` standing for its name with underscores as spaces."""

    events: tuple[int, int] = (3, 8)
    prompt: str = "the sound of {}"

    def __post_init__(self) -> None:
        fewest, most = self.events
        if not 1 <= fewest <= most:
            raise ValueError(f"events must be (fewest, most) with 1 <= fewest <= most, "
                             f"got {self.events}")
        if self.prompt.count("{}") != 1:
            raise ValueError(f"prompt must hold one '{{}}' for the class name, got "
                             f"{self.prompt!r}")

    def prompt_for(self, label: str) -> str:
        return self.prompt.format(label.replace("_", " "))


@dataclass
class SedSplit:
    """SED recordings: ``simulated`` (recipes and per-class queries), ``task`` (every
    event, for frame scoring) and ``prompts`` (class -> query text)."""

    simulated: SimulatedSplit
    task: SedTask
    prompts: dict[str, str]


def sample_sed_recipes(segments: Sequence[BackgroundSegment],
                       clips_by_class: Mapping[str, Sequence[TrimmedClip]],
                       config: SimulationConfig, sed: SedSetConfig, seed: int
                       ) -> list[MixtureRecipe]:
    """The events of every segment (deterministic per ``seed``), in onset order. Every
    event of class ``c`` in recording ``v`` has qid ``"v:c"`` and the class's prompt."""
    labels = sorted(label for label, clips in clips_by_class.items() if clips)
    if not labels:
        raise CorpusError("no usable clips of any class to place")
    rng = np.random.default_rng(seed)
    recipes = []
    for segment in segments:
        events = []
        for _ in range(int(rng.integers(sed.events[0], sed.events[1] + 1))):
            label = labels[rng.integers(len(labels))]
            pool = clips_by_class[label]
            clip = pool[rng.integers(len(pool))]
            room = max(segment.duration_s - clip.duration_s, 0.0)
            onset = float(rng.uniform(0, room))
            events.append(EventRecipe(f"{segment.vid}:{label}", clip.clip_id,
                                      sed.prompt_for(label), onset, clip.start_s,
                                      min(clip.duration_s, segment.duration_s),
                                      float(rng.uniform(*config.foreground_gain_db))))
        events.sort(key=lambda event: event.onset_s)
        recipes.append(MixtureRecipe(segment.vid, segment.recording_id, segment.start_s,
                                     segment.duration_s,
                                     float(rng.uniform(*config.background_gain_db)),
                                     tuple(events)))
    return recipes


def simulate_sed_split(clip_corpus: CorpusSpec, background_corpus: CorpusSpec, split: str,
                       config: SimulationConfig | None = None,
                       sed: SedSetConfig | None = None, seed: int = 0,
                       max_segments: int | None = None) -> SedSplit:
    """SED recordings of ``split``: the background segments and trimmed clips of
    Clotho-Moment's simulation (same ``config``), events placed by
    :func:`sample_sed_recipes`. Refuses a clip corpus without sound classes."""
    config = config or SimulationConfig()
    sed = sed or SedSetConfig()
    clips = make_clip_corpus(clip_corpus, config.sample_rate)
    backgrounds = make_background_corpus(background_corpus, config.sample_rate)
    segments = subsample_segments(segment_backgrounds(backgrounds, split, config),
                                  max_segments, seed)
    by_class: dict[str, list[TrimmedClip]] = {}
    for clip in trim_clips(clips, split, config):
        by_class.setdefault(clips.category(clip.clip_id), []).append(clip)
    recipes = sample_sed_recipes(segments, by_class, config, sed, seed)
    annotations = [replace(a, relevant_windows=merge_overlapping(a.relevant_windows))
                   for a in annotations_from_recipes(recipes, config)]
    labels = tuple(sorted(by_class))
    decimals = config.label_decimals      # the events' times, rounded as the windows are
    events = tuple(SedEvent(recipe.vid, clips.category(event.clip_id),
                            round(event.onset_s, decimals),
                            round(event.onset_s + event.duration_s, decimals))
                   for recipe in recipes for event in recipe.events)
    task = SedTask({recipe.vid: recipe.duration_s for recipe in recipes}, labels, events)
    simulated = SimulatedSplit(split, seed, config, clip_corpus, background_corpus, recipes,
                               annotations)
    return SedSplit(simulated, task, {label: sed.prompt_for(label) for label in labels})
