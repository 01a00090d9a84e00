"""What an AMR benchmark looks like: recordings, queries and moments of an annotation file.

Works on any Lighthouse annotation file (the released Clotho-Moment, UnAV-100 subset,
TUT Sound Events 2017 and CASTELLA files, or a simulated split), so a reader can compare a
benchmark with the data a model was trained on before trusting a number measured on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from amr_lib.lighthouse_jsonl import MomentAnnotation
from amr_lib.spans import merge_overlapping


def describe(annotations: Sequence[MomentAnnotation]) -> dict[str, Any]:
    """Plain-number summary of ``annotations`` (seconds; shares in [0, 1]).

    ``coverage`` is the share of its recording that a query's moments cover (overlapping
    moments counted once); ``gaps_s`` are the silences between consecutive moments of one
    query; ``duration_s`` is per recording, ``moment_s`` per moment (each cut to its
    recording); ``windows_past_end`` counts annotated windows that end after the recording.
    """
    durations = {a.vid: a.duration for a in annotations}
    moments = [_inside(a) for a in annotations]
    counts, lengths, gaps = moment_arrays(annotations).values()
    coverage = np.array([(m[:, 1] - m[:, 0]).sum() / a.duration
                         for m, a in zip(moments, annotations, strict=True)])
    per_recording = Counter(a.vid for a in annotations)
    return {
        "queries": len(annotations),
        "recordings": len(durations),
        "distinct_queries": len({a.query.strip().lower() for a in annotations}),
        "queries_per_recording": len(annotations) / len(durations),
        "max_queries_per_recording": max(per_recording.values()),
        "duration_s": _spread(np.array(list(durations.values()))),
        "moments_per_query": float(counts.mean()),
        "multi_moment_share": float((counts > 1).mean()),
        "max_moments_per_query": int(counts.max()),
        "moment_s": _spread(lengths),
        "gap_s": _spread(gaps) if len(gaps) else None,
        "coverage": _spread(coverage),
        "windows_past_end": sum(int((a.relevant_windows[:, 1] > a.duration).sum())
                                for a in annotations),
    }


def moment_arrays(annotations: Sequence[MomentAnnotation]) -> dict[str, np.ndarray]:
    """The raw material of :func:`describe`'s moment statistics, for histograms:
    ``counts`` ``(Q,)`` moments per query, ``lengths`` ``(W,)`` seconds per moment and
    ``gaps`` seconds between consecutive moments of one query (moments cut to their
    recording and merged where they overlap)."""
    if not annotations:
        raise ValueError("no annotations to describe")
    moments = [_inside(a) for a in annotations]
    return {"counts": np.array([len(m) for m in moments]),
            "lengths": np.concatenate([m[:, 1] - m[:, 0] for m in moments]),
            "gaps": np.concatenate([m[1:, 0] - m[:-1, 1] for m in moments])}


def _inside(annotation: MomentAnnotation) -> np.ndarray:
    """The query's moments cut to its recording (released files have windows that end up
    to a second past ``duration``), without zero-length leftovers, merged."""
    clipped = np.clip(annotation.relevant_windows, 0, annotation.duration)
    return merge_overlapping(clipped[clipped[:, 1] > clipped[:, 0]])


def _spread(values: np.ndarray) -> dict[str, float]:
    low, median, high = np.percentile(values, [10, 50, 90])
    return {"mean": float(values.mean()), "p10": float(low), "median": float(median),
            "p90": float(high), "min": float(values.min()), "max": float(values.max())}
