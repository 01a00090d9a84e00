"""The sliding-window baseline: a clip-level retrieval model slid over the recording.

For a query and a recording embedded in one joint audio-text space (the contrastive
encoder, CLAP), the baseline

1. scores every frame by the cosine similarity between its window's embedding and the
   query's embedding, a curve ``(T,)``;
2. marks the frames whose similarity exceeds a **threshold**;
3. smooths the marks with a **median filter** of odd length ``L`` frames, a majority vote
   over ``L`` neighbours; frames beyond the recording count as unmarked, like background.
   A run of marks then survives whole when it is at least ``(L + 1) / 2`` frames long,
   wherever it lies (at an end of the recording too), and shorter runs vanish; gaps
   shorter than that between two long runs are filled;
4. turns every run of marked frames into a moment ``[first * hop, (last + 1) * hop]``
   seconds (clamped to the recording's duration);
5. scores a moment by the mean similarity of its frames and returns at most 10, best first.

When no frame survives, the baseline still answers, with the single frame of highest
similarity as a one-frame moment (scored by its similarity). The metrics need a ranked list
for every query (an empty one counts as a miss), and the best frame is the guess the
similarity curve itself supports; a threshold that leaves many queries on this fallback
scores badly on validation, so tuning avoids it anyway.

Threshold and filter length are chosen on the validation split by a grid search that
maximises average mAP; the whole grid is scored at once (:func:`tune`). The baseline needs
a joint space: the untrained encoder's audio and text projections were never aligned, so
it is refused (:func:`check_joint_space`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from amr_lib.features.store import FeatureStore
from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction
from amr_lib.metrics import IOU_THRESHOLDS, pad_rows, score_padded
from amr_lib.storage.atomic import atomic_write

TOP_K = 10
JOINT_SPACE_ENCODERS = ("contrastive", "clap")
FILTER_LENGTHS: tuple[int, ...] = (1, 3, 5, 7, 9, 11, 13, 15)    # frames; 1 = no filter
THRESHOLD_RANGE = (0.05, 0.995)      # quantiles of the validation similarities ...
THRESHOLD_COUNT = 40                 # ... with this many thresholds evenly between them
PARAMS_FORMAT = "amr_lib.sliding_window_baseline"
PARAMS_VERSION = 1


@dataclass(frozen=True)
class BaselineParams:
    """The baseline's two settings: a cosine-similarity ``threshold`` and an odd median
    filter length ``filter_frames`` (1 leaves the marks as they are)."""

    threshold: float
    filter_frames: int

    def __post_init__(self) -> None:
        if not math.isfinite(self.threshold):
            raise ValueError(f"threshold must be a finite number, got {self.threshold}")
        if self.filter_frames < 1 or self.filter_frames % 2 == 0:
            raise ValueError(f"filter_frames must be odd and positive, got {self.filter_frames}")
        object.__setattr__(self, "threshold", float(self.threshold))
        object.__setattr__(self, "filter_frames", int(self.filter_frames))


def check_joint_space(encoder_name: str) -> None:
    """Refuse encoders whose audio and text embeddings do not share one space."""
    if encoder_name not in JOINT_SPACE_ENCODERS:
        raise ValueError(
            f"the sliding-window baseline needs an encoder with a joint audio-text space "
            f"({', '.join(JOINT_SPACE_ENCODERS)}); {encoder_name!r} has none: its audio and "
            "text projections were never trained together, so their cosine similarity "
            "means nothing")


def frame_similarity(frames: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``(T, D)`` window embeddings and a ``(D,)`` query embedding -> ``(T,)`` cosine
    similarities in ``[-1, 1]``."""
    frames = np.asarray(frames, dtype=np.float64)
    query = np.asarray(query, dtype=np.float64)
    if frames.ndim != 2 or query.shape != frames.shape[1:]:
        raise ValueError(f"need (T, D) frames and a (D,) query, got {frames.shape} and "
                         f"{query.shape}")
    norms = np.linalg.norm(frames, axis=1) * np.linalg.norm(query)
    return np.divide(frames @ query, norms, out=np.zeros(len(frames)), where=norms > 0)


def active_frames(similarity: np.ndarray, threshold: float | np.ndarray,
                  filter_frames: int) -> np.ndarray:
    """Marks after thresholding and median filtering, along the last axis.

    ``similarity (..., T)``; ``threshold`` a scalar or an array broadcast against it (e.g.
    ``(H, 1, 1)`` for ``H`` thresholds over ``(Q, T)`` curves). Returns bool, broadcast
    shape. A binary median is a majority vote; frames beyond the ends count as 0."""
    marks = (np.asarray(similarity) > threshold).astype(np.uint8)
    if filter_frames > 1:
        from scipy.ndimage import median_filter  # here: AM-DETR's `amr retrieve` skips it

        size = (1,) * (marks.ndim - 1) + (filter_frames,)
        marks = median_filter(marks, size=size, mode="constant", cval=0)
    return marks.astype(bool)


def marked_runs(marks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every run of marks in ``(R, T)`` bool rows: ``(row, start, stop)`` index arrays in
    row-major order, ``stop`` one past the run's last frame."""
    # run edges: +1 where a run starts, -1 one past where it ends
    edges = np.diff(np.pad(np.asarray(marks).astype(np.int8), ((0, 0), (1, 1))), axis=1)
    row, start = np.nonzero(edges == 1)
    _, stop = np.nonzero(edges == -1)                  # same row-major order as the starts
    return row, start, stop


def ranked_moments(similarity: np.ndarray, active: np.ndarray, hop_s: float,
                   duration_s: np.ndarray, top_k: int = TOP_K) -> np.ndarray:
    """Runs of marks -> ranked moments, for many curves at once.

    ``similarity (Q, T)``; ``active (..., Q, T)`` bool marks of those curves (any leading
    grid axes); ``duration_s (Q,)``. Returns ``(..., Q, top_k, 3)`` float64
    ``[start_s, end_s, score]`` rows, best first, padded with NaN rows after a curve's
    last moment. A curve with no run gets its best frame (the module docstring's rule).
    """
    similarity = np.asarray(similarity, dtype=np.float64)
    grid_shape = active.shape[:-2]
    num_curves, length = similarity.shape
    flat = active.reshape(-1, length)                                  # (R, T)
    curve = np.arange(len(flat)) % num_curves                          # row -> curve
    row, start, stop = marked_runs(flat)
    sums = np.pad(np.cumsum(similarity, axis=1), ((0, 0), (1, 0)))     # (Q, T + 1)
    score = (sums[curve[row], stop] - sums[curve[row], start]) / (stop - start)
    # the fallback: rows without a run get their curve's best frame
    empty = np.setdiff1d(np.arange(len(flat)), row)
    best = similarity.argmax(axis=1)[curve[empty]]
    row = np.concatenate([row, empty])
    start = np.concatenate([start, best])
    stop = np.concatenate([stop, best + 1])
    score = np.concatenate([score, similarity[curve[empty], best]])
    # best first within each row (ties: earlier moment first), keep top_k
    order = np.lexsort((start, -score, row))
    row, start, stop, score = row[order], start[order], stop[order], score[order]
    rank = np.arange(len(row)) - np.searchsorted(row, row)
    keep = rank < top_k
    moments = np.full((len(flat), top_k, 3), np.nan)
    duration = np.asarray(duration_s, dtype=np.float64)[curve[row[keep]]]
    moments[row[keep], rank[keep]] = np.stack(
        [np.minimum(start[keep] * hop_s, duration), np.minimum(stop[keep] * hop_s, duration),
         score[keep]], axis=1)
    return moments.reshape(*grid_shape, num_curves, top_k, 3)


def detect(similarity: np.ndarray, params: BaselineParams, hop_s: float,
           duration_s: float | None = None, top_k: int = TOP_K) -> np.ndarray:
    """One ``(T,)`` similarity curve -> ``(M, 3)`` ranked ``[start_s, end_s, score]`` rows
    (``1 <= M <= top_k``); ``duration_s`` defaults to ``T * hop_s``."""
    similarity = np.asarray(similarity, dtype=np.float64)
    if similarity.ndim != 1 or not len(similarity):
        raise ValueError(f"need a non-empty (T,) similarity curve, got {similarity.shape}")
    duration_s = len(similarity) * hop_s if duration_s is None else duration_s
    active = active_frames(similarity, params.threshold, params.filter_frames)
    moments = ranked_moments(similarity[None], active[None], hop_s,
                             np.array([duration_s]), top_k)[0]
    return moments[~np.isnan(moments[:, 0])]


def split_similarities(store: FeatureStore, annotations: Sequence[MomentAnnotation]
                       ) -> list[np.ndarray]:
    """The ``(T,)`` similarity curve of every query of ``annotations`` (features read from
    ``store``, each recording once)."""
    frames = {vid: store.load_audio(vid) for vid in sorted({a.vid for a in annotations})}
    return [frame_similarity(frames[a.vid], store.load_sentence(a.qid)) for a in annotations]


def predict(similarities: Sequence[np.ndarray], annotations: Sequence[MomentAnnotation],
            params: BaselineParams, hop_s: float, top_k: int = TOP_K
            ) -> list[MomentPrediction]:
    """Lighthouse prediction records for every query from its similarity curve."""
    return [MomentPrediction(a.qid, a.query, a.vid,
                             detect(curve, params, hop_s, a.duration, top_k))
            for curve, a in zip(similarities, annotations, strict=True)]


@dataclass(frozen=True)
class Tuning:
    """A grid search on validation: ``average_map (F, H)`` percent for every filter length
    ``filter_lengths[f]`` and threshold ``thresholds[h]``, and the best ``params``."""

    params: BaselineParams
    thresholds: np.ndarray
    filter_lengths: tuple[int, ...]
    average_map: np.ndarray

    @property
    def best_average_map(self) -> float:
        return float(self.average_map.max())


def threshold_grid(similarities: Sequence[np.ndarray], count: int = THRESHOLD_COUNT
                   ) -> np.ndarray:
    """``count`` thresholds evenly spaced between two quantiles of all frames'
    similarities (:data:`THRESHOLD_RANGE`): scale-free across encoders, and evenly spaced
    so that gaps in the similarity distribution get thresholds too."""
    return np.unique(quantile_grid(np.concatenate(similarities), THRESHOLD_RANGE, count))


def quantile_grid(values: Sequence[float] | np.ndarray, quantiles: tuple[float, float],
                  count: int) -> np.ndarray:
    """``(count,)`` thresholds evenly spaced between two quantiles of the finite
    ``values`` (the scores a detector gave), so each detector is swept over its own range;
    ``[0, 1]`` when none is finite."""
    finite = np.asarray(values, dtype=np.float64).ravel()
    finite = finite[np.isfinite(finite)]
    low, high = np.quantile(finite, quantiles) if len(finite) else (0.0, 1.0)
    return np.linspace(low, high, count)


def grid_average_map(similarities: Sequence[np.ndarray],
                     annotations: Sequence[MomentAnnotation], thresholds: np.ndarray,
                     filter_lengths: Sequence[int], hop_s: float) -> np.ndarray:
    """``(F, H)`` average mAP (percent, unrounded) of every setting, each query scored
    exactly as :func:`amr_lib.metrics.evaluate` scores it. Vectorised over thresholds and
    queries; curves of different lengths are scored in groups of equal length."""
    if len(similarities) != len(annotations) or not annotations:
        raise ValueError(f"need one similarity curve per query, got {len(similarities)} "
                         f"curves for {len(annotations)} queries")
    thresholds = np.asarray(thresholds, dtype=np.float64)
    total = np.zeros((len(filter_lengths), len(thresholds)))
    for length in sorted({len(curve) for curve in similarities}):
        group = [i for i, curve in enumerate(similarities) if len(curve) == length]
        curves = np.stack([similarities[i] for i in group])                    # (Q, T)
        chosen = [annotations[i] for i in group]
        gt, gt_valid = pad_rows([a.relevant_windows for a in chosen], 2)
        duration = np.array([a.duration for a in chosen])
        for f, filter_frames in enumerate(filter_lengths):
            active = active_frames(curves, thresholds[:, None, None], filter_frames)
            moments = ranked_moments(curves, active, hop_s, duration)         # (H, Q, K, 3)
            rows = moments.reshape(-1, TOP_K, 3)
            scores = score_padded((), np.nan_to_num(rows), ~np.isnan(rows[..., 0]),
                                  np.tile(gt, (len(thresholds), 1, 1)),
                                  np.tile(gt_valid, (len(thresholds), 1)), IOU_THRESHOLDS)
            average_precision = scores.average_precision.mean(axis=1)          # (H * Q,)
            total[f] += average_precision.reshape(len(thresholds), -1).sum(axis=1)
    return 100 * total / len(annotations)


def tune(similarities: Sequence[np.ndarray], annotations: Sequence[MomentAnnotation],
         hop_s: float, filter_lengths: Sequence[int] = FILTER_LENGTHS,
         thresholds: np.ndarray | None = None) -> Tuning:
    """The setting of highest validation average mAP (ties: the shortest filter, then
    the lowest threshold). ``thresholds`` default to :func:`threshold_grid`."""
    thresholds = threshold_grid(similarities) if thresholds is None else np.asarray(thresholds)
    scores = grid_average_map(similarities, annotations, thresholds, filter_lengths, hop_s)
    f, h = np.unravel_index(np.argmax(scores), scores.shape)
    params = BaselineParams(float(thresholds[h]), int(filter_lengths[f]))
    return Tuning(params, thresholds, tuple(filter_lengths), scores)


def write_params(path: str | Path, params: BaselineParams, features: dict[str, Any],
                 tuned_on: dict[str, Any]) -> Path:
    """Write the tuned settings with the feature encoder's reference (see
    :func:`amr_lib.features.encoders.encoder_file_reference`) as a small JSON file."""
    payload = {"format": PARAMS_FORMAT, "version": PARAMS_VERSION, **asdict(params),
               "features": features, "tuned_on": tuned_on}
    path = Path(path)
    atomic_write(path, lambda temporary: temporary.write_text(
        json.dumps(payload, indent=2), encoding="utf-8"))
    return path


def read_params(path: str | Path) -> tuple[BaselineParams, dict[str, Any], dict[str, Any]]:
    """``(params, features reference, tuned_on)`` from :func:`write_params`'s file; raises
    ``FileNotFoundError`` or ``ValueError`` naming ``path``."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such baseline parameter file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise ValueError(f"{path}: not a JSON file ({problem})") from None
    if not isinstance(payload, dict) or payload.get("format") != PARAMS_FORMAT:
        raise ValueError(f"{path}: not a baseline parameter file written by amr "
                         f"(expected format {PARAMS_FORMAT!r})")
    if payload.get("version") != PARAMS_VERSION:
        raise ValueError(f"{path}: baseline parameter version {payload.get('version')!r}, "
                         f"this amr_lib reads version {PARAMS_VERSION}")
    try:
        params = BaselineParams(payload["threshold"], payload["filter_frames"])
        check_joint_space(payload["features"]["name"])
    except (KeyError, TypeError, ValueError) as problem:
        raise ValueError(f"{path}: {problem}") from None
    return params, payload["features"], payload.get("tuned_on", {})
