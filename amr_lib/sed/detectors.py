"""Zero-shot sound event detection with a retrieval model, and a supervised reference.

An SED task (:mod:`amr_lib.sed.recordings`) asks every class prompt of every recording, present or
not. Three detectors answer it, each as an ``(N, C)`` matrix of frame scores that
:func:`amr_lib.sed.scoring.f1_curve` turns into F1 at any threshold:

- AM-DETR, zero-shot (:func:`detr_moments`): the class prompt is the query; its ranked
  moments become frame scores by the frame rule
  (:meth:`~amr_lib.sed.scoring.SedTask.moment_scores`);
- the sliding window (the idea of the paper's SED-CLAP, CLAP and a sliding window, on any
  joint-space features): the cosine between each frame and the prompt
  (:func:`prompt_similarities`), thresholded and median-filtered as the baseline does
  (:func:`~amr_lib.baseline.active_frames`), each run of marks a moment scored by its mean
  similarity (:func:`sliding_window_moments`); unlike the retrieval baseline it has no
  fallback, so a class whose similarity never passes the threshold is simply absent;
- a supervised frame classifier (:class:`FrameClassifier`): one logistic regression per
  class on the same window features, trained with the frame labels of a training set of
  SED recordings; its probability is the frame's score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from amr_lib.baseline import active_frames, frame_similarity, marked_runs
from amr_lib.model.am_detr import AMDETR
from amr_lib.model.data import pad_arrays
from amr_lib.model.postprocess import ranked_moments
from amr_lib.presence import output_signals
from amr_lib.sed.scoring import SedTask

Pair = tuple[str, str]          # (vid, class)


@torch.no_grad()
def detr_moments(model: AMDETR, frames: Mapping[str, np.ndarray],
                 prompt_tokens: Mapping[str, np.ndarray], durations: Mapping[str, float],
                 hop_s: float, device: str | torch.device = "cpu", batch_size: int = 256,
                 top_k: int = 10, signals: dict[Pair, dict[str, float]] | None = None
                 ) -> dict[Pair, np.ndarray]:
    """AM-DETR's ranked moments for every (recording, class) pair, absent classes
    included: ``frames[vid]`` ``(T, D)``, ``prompt_tokens[class]`` ``(L, H)``, durations in
    seconds -> ``{(vid, class): (top_k, 3)`` ``[start_s, end_s, score]`` rows}``. A dict
    given as ``signals`` is filled with each pair's presence signals
    (:func:`amr_lib.presence.output_signals`) from the same forward passes."""
    device = torch.device(device)
    model = model.to(device).eval()
    vids, labels = sorted(frames), sorted(prompt_tokens)
    audio, audio_mask = pad_arrays([frames[v] for v in vids])
    tokens, token_mask = pad_arrays([prompt_tokens[c] for c in labels])
    pairs = [(v, c) for v in range(len(vids)) for c in range(len(labels))]
    length_s = audio_mask.sum(1).double() * hop_s
    duration_s = torch.tensor([durations[v] for v in vids], dtype=torch.float64)
    moments: dict[Pair, np.ndarray] = {}
    for start in range(0, len(pairs), batch_size):
        chunk = torch.tensor(pairs[start:start + batch_size])
        rec, text = chunk[:, 0], chunk[:, 1]
        outputs = model(audio[rec].to(device), audio_mask[rec].to(device),
                        tokens[text].to(device), token_mask[text].to(device))
        rows = ranked_moments(outputs["pred_logits"], outputs["pred_spans"], length_s[rec],
                              duration_s[rec], hop_s, top_k)
        for (v, c), found in zip(chunk.tolist(), rows, strict=True):
            moments[vids[v], labels[c]] = found
        if signals is not None:
            values = {name: value.cpu().tolist() for name, value in
                      output_signals(outputs, audio_mask[rec].to(device)).items()}
            for index, (v, c) in enumerate(chunk.tolist()):
                signals[vids[v], labels[c]] = {name: float(column[index])
                                               for name, column in values.items()}
    return moments


def prompt_similarities(frames: Mapping[str, np.ndarray],
                        prompt_embeddings: Mapping[str, np.ndarray]) -> dict[Pair, np.ndarray]:
    """The sliding window's ``(T,)`` cosine curve of every (recording, class prompt)."""
    return {(vid, label): frame_similarity(audio, embedding)
            for vid, audio in frames.items() for label, embedding in prompt_embeddings.items()}


def frame_matrix(task: SedTask, frames: Mapping[str, np.ndarray]) -> np.ndarray:
    """``(N, D)`` window features in the task's frame order (recordings in ``vid`` order,
    each cut or zero-padded to its ``task.frames(vid)`` frames)."""
    rows = []
    for vid in task.vids:
        audio = np.asarray(frames[vid], dtype=np.float32)[:task.frames(vid)]
        missing = task.frames(vid) - len(audio)
        rows.append(np.pad(audio, ((0, missing), (0, 0))) if missing else audio)
    return np.concatenate(rows)


@dataclass
class FrameClassifier:
    """The supervised reference: per class, a logistic regression from a frame's window
    features to whether the class is active there (class-balanced, L2-normalised inputs).
    A class without positive training frames scores 0 everywhere."""

    labels: tuple[str, ...]
    models: dict[str, LogisticRegression | None]

    @classmethod
    def fit(cls, task: SedTask, frames: Mapping[str, np.ndarray], seed: int = 0,
            max_iter: int = 300) -> FrameClassifier:
        features = _normalised(frame_matrix(task, frames))
        reference = task.reference()
        models: dict[str, LogisticRegression | None] = {}
        for c, label in enumerate(task.labels):
            target = reference[:, c]
            if target.all() or not target.any():
                models[label] = None
                continue
            models[label] = LogisticRegression(class_weight="balanced", max_iter=max_iter,
                                               random_state=seed).fit(features, target)
        return cls(task.labels, models)

    def scores(self, task: SedTask, frames: Mapping[str, np.ndarray]) -> np.ndarray:
        """``(N, C)`` probabilities in ``task``'s frame and class order (classes the
        classifier never saw score 0)."""
        features = _normalised(frame_matrix(task, frames))
        columns = []
        for label in task.labels:
            model = self.models.get(label)
            columns.append(model.predict_proba(features)[:, 1] if model is not None
                           else np.zeros(len(features)))
        return np.stack(columns, axis=1)


def _normalised(features: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.where(norms > 0, norms, 1.0)


def sliding_window_moments(similarity: np.ndarray, threshold: float, filter_frames: int,
                           hop_s: float, duration_s: float) -> np.ndarray:
    """The sliding-window detector on one ``(T,)`` curve: ``(M, 3)`` moments, one per run
    of marks after the threshold and median filter (``M`` may be 0), each
    ``[first * hop, (last + 1) * hop]`` cut to ``duration_s``, scored by its mean
    similarity."""
    similarity = np.asarray(similarity, dtype=np.float64)
    _, starts, stops = marked_runs(active_frames(similarity, threshold, filter_frames)[None])
    rows = [[min(a * hop_s, duration_s), min(b * hop_s, duration_s), similarity[a:b].mean()]
            for a, b in zip(starts, stops, strict=True)]
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def sliding_window_decisions(task: SedTask, similarities: Mapping[tuple[str, str], np.ndarray],
                             threshold: float, filter_frames: int, hop_s: float) -> np.ndarray:
    """``(N, C)`` bool decisions of the sliding-window detector; ``similarities[(vid,
    label)]`` is the ``(T,)`` curve of the class's prompt over the recording."""
    moments = {key: sliding_window_moments(curve, threshold, filter_frames, hop_s,
                                           task.durations[key[0]])
               for key, curve in similarities.items()}
    return task.moment_scores(moments) > -np.inf


def best_threshold(curve: Mapping[str, np.ndarray]) -> float:
    """The threshold of highest F1 on a :func:`~amr_lib.sed.scoring.f1_curve` (the lowest
    of ties)."""
    return float(curve["threshold"][int(np.argmax(curve["f1"]))])


def f1_spread(curve: Mapping[str, np.ndarray], share: float = 0.9) -> float:
    """How flat F1 is over the thresholds tried: the fraction of them whose F1 is at least
    ``share`` of the best (1.0: F1 hardly depends on the threshold)."""
    best = float(np.max(curve["f1"]))
    return float(np.mean(curve["f1"] >= share * best)) if best > 0 else 0.0


# quantile levels of a detector's validation scores that its threshold grid visits: dense
# in the bulk, and far into the upper tail, where AM-DETR's near-1 scores sit
QUANTILE_LEVELS = np.concatenate([np.linspace(0.02, 0.98, 25), [0.99, 0.995, 0.999]])


def validation_thresholds(scores: Sequence[float] | np.ndarray, default: float
                          ) -> np.ndarray:
    """A detector's threshold grid: the :data:`QUANTILE_LEVELS` quantiles of its finite
    validation ``scores`` and its ``default`` threshold, sorted and distinct. The grid
    follows the detector's own scores, so no fixed cap decides where tuning can go."""
    finite = np.asarray(scores, dtype=np.float64).ravel()
    finite = finite[np.isfinite(finite)]
    grid = np.quantile(finite, QUANTILE_LEVELS) if len(finite) else np.empty(0)
    return np.unique(np.append(grid, default))
