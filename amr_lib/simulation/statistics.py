"""Statistics of simulated data, comparable with the released Clotho-Moment.

The released annotations list only segments that received an event (a segment without
events yields no query), so the share of empty segments is recovered from the names:
Clotho-Moment names a segment ``{recording}_{start}_{end}`` and makes one every
``hop_s`` seconds from 0, so the missing starts of a recording are its empty segments.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from amr_lib.lighthouse_jsonl import MomentAnnotation
from amr_lib.simulation.algorithm import MixtureRecipe

MAX_COUNTED_EVENTS = 3            # shares are reported for 0, 1, 2 and "3 or more" events
_VID = re.compile(r"^(?P<recording>.+)_(?P<start>\d+(?:\.\d+)?)_(?P<end>\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class SimulationStatistics:
    """Shares of segments by event count, and per-event start and length (seconds)."""

    num_segments: int
    events_per_segment: dict[int, float]    # {0, 1, 2, 3}: share in [0, 1]; 3 means ">= 3"
    starts_s: np.ndarray                     # (E,) event onsets in their segment
    lengths_s: np.ndarray                    # (E,) event durations

    def shares_percent(self) -> dict[int, float]:
        return {k: round(100 * v, 1) for k, v in self.events_per_segment.items()}

    def summary(self, segment_s: float = 60.0, bin_s: float = 1.0) -> dict[str, Any]:
        """JSON-able summary: shares (percent), means, and start/length histograms over
        ``[0, segment_s]`` in ``bin_s`` bins (counts)."""
        edges = np.arange(0.0, segment_s + bin_s / 2, bin_s)
        return {
            "num_segments": self.num_segments,
            "num_events": len(self.lengths_s),
            "events_per_segment_percent": {str(k): v for k, v in self.shares_percent().items()},
            "mean_start_s": round(float(np.mean(self.starts_s)), 2),
            "mean_length_s": round(float(np.mean(self.lengths_s)), 2),
            "bin_edges_s": edges.round(6).tolist(),
            "start_counts": np.histogram(self.starts_s, edges)[0].tolist(),
            "length_counts": np.histogram(self.lengths_s, edges)[0].tolist(),
        }


def statistics_from_recipes(recipes: Sequence[MixtureRecipe]) -> SimulationStatistics:
    """Statistics of our simulation, empty segments included."""
    counts = [len(recipe.events) for recipe in recipes]
    events = [event for recipe in recipes for event in recipe.events]
    return SimulationStatistics(
        len(recipes), _shares(counts),
        np.array([e.onset_s for e in events]), np.array([e.duration_s for e in events]))


def statistics_from_annotations(annotations: Iterable[MomentAnnotation],
                                hop_s: float = 1.0) -> SimulationStatistics:
    """Statistics of released Clotho-Moment annotations, empty segments inferred.

    Each recording is assumed to have segments at every ``hop_s`` from 0 up to its last
    annotated start (a tail of empty segments cannot be seen and is not counted).
    """
    events_by_vid: Counter[str] = Counter()
    starts, lengths = [], []
    segment_starts: dict[str, set[float]] = defaultdict(set)
    for annotation in annotations:
        match = _VID.match(annotation.vid)
        if match is None:
            raise ValueError(f"vid {annotation.vid!r} (qid {annotation.qid!r}) is not named "
                             "{recording}_{start}_{end}")
        segment_starts[match["recording"]].add(float(match["start"]))
        events_by_vid[annotation.vid] += 1
        for start, end in annotation.relevant_windows:
            starts.append(start)
            lengths.append(end - start)
    counts = list(events_by_vid.values())
    for recording_starts in segment_starts.values():
        possible = round(max(recording_starts) / hop_s) + 1
        counts += [0] * (possible - len(recording_starts))
    return SimulationStatistics(len(counts), _shares(counts), np.array(starts),
                                np.array(lengths))


def _shares(counts: Sequence[int]) -> dict[int, float]:
    clipped = Counter(min(c, MAX_COUNTED_EVENTS) for c in counts)
    total = max(len(counts), 1)
    return {k: clipped.get(k, 0) / total for k in range(MAX_COUNTED_EVENTS + 1)}
