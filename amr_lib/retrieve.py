"""The high-level API: from a recording and a text query to ranked moments in seconds.

>>> retriever = Retriever.from_checkpoint("runs/quick/best.ckpt")
>>> retriever.retrieve("street.flac", "a dog barks", top_k=5)
[Moment(start_s=12.0, end_s=17.0, score=0.93), ...]
>>> frames = retriever.embed("street.flac")          # embed once, ask several queries
>>> [retriever.retrieve_frames(frames, q) for q in ("a dog barks", "a bell rings")]

A checkpoint written by :func:`amr_lib.train.train_am_detr` through
:func:`amr_lib.runs.chain.train_profile` carries the feature encoder (the contrastive
network itself, or CLAP by source and weights hash) next to AM-DETR, so nothing else is
needed. The audio is embedded once per recording; recordings longer than the model's
training length are cut into chunks of that length overlapping by half, every chunk is
scored in one batch, and the chunks' moments are merged: moments found twice (in two
overlapping chunks) keep their best-scored copy (greedy suppression at IoU 0.5). A
recording that fits in one chunk gets the model's moments as they come (no suppression,
as in Lighthouse's QD-DETR evaluation).

:class:`BaselineRetriever` answers the same calls with the sliding-window baseline, so
``amr predict --baseline`` and ``amr predict --checkpoint`` share one path.

Whether the sound is there at all (:meth:`FileRetriever.search_frames`): a checkpoint
trained by a beyond-the-paper recipe carries a calibration
(:class:`~amr_lib.presence.Calibration`), which turns the model's own signals into a
presence probability and a threshold; "not found" then comes with the closest moments,
shown as such. A checkpoint
trained with absent pairs by the paper's recipe carries a top-score threshold instead;
every other answer only ranks moments.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from amr_lib.audio import as_float_audio, audio_duration
from amr_lib.baseline import BaselineParams, detect, frame_similarity, read_params
from amr_lib.config import resolve_device
from amr_lib.features.encoders import encoder_from_file_reference, encoder_from_reference
from amr_lib.features.long_audio import embed_file
from amr_lib.features.released import CHECKPOINT_KEY as RELEASED_FEATURES
from amr_lib.features.windows import WindowConfig
from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction
from amr_lib.model.am_detr import AMDETR
from amr_lib.model.postprocess import TOP_K, ranked_moments
from amr_lib.presence import CALIBRATION_KEY, Calibration, output_signals
from amr_lib.presence import CHECKPOINT_KEY as PRESENCE_KEY
from amr_lib.progress import progress_bar
from amr_lib.spans import temporal_iou
from amr_lib.train import model_from_checkpoint, read_am_detr_checkpoint

MERGE_IOU = 0.5             # copies of one moment from overlapping chunks overlap this much


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint says about itself, read without building its model or encoder."""

    window: WindowConfig              # the feature windows its model was trained on
    profile: str | None               # the profile (or profiles) it was trained on
    presence_threshold: float | None  # None: trained without absent queries
    recipe: str = "paper"             # the training recipe (amr_lib.model.recipes)

    @classmethod
    def read(cls, path: str | Path) -> CheckpointInfo:
        return cls.of(read_am_detr_checkpoint(path), str(path))

    @classmethod
    def of(cls, checkpoint: dict[str, Any], where: str) -> CheckpointInfo:
        """From a read checkpoint; ``ValueError`` naming ``where`` for checkpoints that
        cannot embed audio (trained on released features, or not written by ``amr
        train``)."""
        extra = checkpoint["extra"]
        if RELEASED_FEATURES in extra:
            raise ValueError(f"{where}: this model was trained on released pre-extracted "
                             "features and has no encoder to embed audio; predict with "
                             "`amr predict --features DIR`")
        try:
            reference = extra["features"]
            window = WindowConfig(float(reference["window_s"]), float(reference["hop_s"]))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{where}: this checkpoint does not say which feature encoder "
                             "made its inputs; it was not written by `amr train`") from None
        presence = extra.get(PRESENCE_KEY)
        return cls(window, extra.get("profile"),
                   None if presence is None else float(presence["threshold"]),
                   extra.get("recipe", "paper"))   # written before recipes: the paper's


def check_recording(path: str | Path, window: WindowConfig) -> float:
    """The duration in seconds of the audio file at ``path`` (from its header), after
    checking that it is a readable file at least one ``window`` long; the error names
    the file."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not an audio file")
    duration_s = audio_duration(path)       # FileNotFoundError / AudioError name the file
    if duration_s < window.window_s - 1e-9:
        raise ValueError(f"{path}: {duration_s:.2f} s of audio is shorter than one "
                         f"{window.window_s:g} s window of this model")
    return duration_s


def check_query(query: str) -> str:
    """``query`` itself; ``ValueError`` for one that is not a text or only blanks."""
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"a query must be a non-empty text, got {query!r}")
    return query


@dataclass(frozen=True)
class Moment:
    start_s: float
    end_s: float
    score: float            # AM-DETR: foreground probability; baseline: mean cosine

    def to_json(self) -> dict[str, float]:
        return {"start_s": self.start_s, "end_s": self.end_s, "score": self.score}


@dataclass(frozen=True)
class Search:
    """One query's answer: the ranked moments, the calibrated presence probability
    (``None`` without a calibration) and whether the sound counts as found (``None``: the
    model cannot say; ``False``: the moments are only the closest ones)."""

    moments: list[Moment]
    presence: float | None = None
    found: bool | None = None


class FileRetriever:
    """What every retriever shares: a feature encoder and its windows, turning files or
    arrays into frames. Subclasses rank moments in frames (:meth:`retrieve_frames`)."""

    encoder: Any
    window: WindowConfig
    # the top score above which the queried sound counts as present (chosen on validation
    # with absent queries); None: the model was trained without them (the baseline too)
    presence_threshold: float | None = None

    def found(self, moments: list[Moment]) -> bool | None:
        """Whether the best of ``moments`` passes the presence threshold (``None``: this
        model has none, its scores say where a sound would be, not whether it is)."""
        if self.presence_threshold is None:
            return None
        return bool(moments) and moments[0].score >= self.presence_threshold

    def embed(self, audio: str | Path | np.ndarray, sample_rate: int | None = None,
              progress: bool = False) -> np.ndarray:
        """``(T, D)`` frame features of a file or an ``(N,)`` array at ``sample_rate`` Hz
        (reuse them for several queries with :meth:`retrieve_frames`). The file loader and
        the encoder refuse unreadable, empty, too short or non-finite audio. ``progress``
        shows a bar over the blocks of a long file."""
        if isinstance(audio, str | Path):      # long files are read block by block
            return embed_file(self.encoder, audio, self.window, progress=progress)
        if sample_rate is None:
            raise ValueError("an audio array needs its sample_rate")
        return self.encoder.embed_windows(as_float_audio(audio), sample_rate, self.window)

    def retrieve(self, audio: str | Path | np.ndarray, query: str, top_k: int = 5,
                 sample_rate: int | None = None) -> list[Moment]:
        """The ``top_k`` best moments for ``query`` in ``audio``, best first: a file, or
        an ``(N,)`` array at ``sample_rate`` Hz (float in [-1, 1], or integer PCM, which
        is scaled by its full range)."""
        check_top_k(top_k)
        query = check_query(query)
        return self.retrieve_frames(self.embed(audio, sample_rate), query, top_k)

    def retrieve_frames(self, frames: np.ndarray, query: str, top_k: int = 5,
                        duration_s: float | None = None) -> list[Moment]:
        """Like :meth:`retrieve` on ``(T, D)`` frames from :meth:`embed`; ``duration_s``
        (default ``T * hop``) is the recording's length, within one hop of the frames'."""
        return self.search_frames(frames, query, top_k, duration_s).moments

    def search_frames(self, frames: np.ndarray, query: str, top_k: int = 5,
                      duration_s: float | None = None) -> Search:
        """:meth:`retrieve_frames` with the presence verdict (:class:`Search`)."""
        check_top_k(top_k)
        moments, signals = self._rank(frames, check_query(query), top_k, frames_duration(
            len(frames), self.window.hop_s, duration_s))
        calibration = getattr(self, "calibration", None)
        if calibration is None or not signals:
            return Search(moments, None, self.found(moments))
        # per chunk (the calibration read one chunk's signals together), the highest counts
        presence = float(calibration.probability(signals).max())
        return Search(moments, presence, presence >= calibration.threshold)

    def _rank(self, frames: np.ndarray, query: str, top_k: int, duration_s: float
              ) -> tuple[list[Moment], dict[str, np.ndarray]]:
        """The ranked moments and the presence signals of the answer (may be empty)."""
        raise NotImplementedError


def check_top_k(top_k: int) -> None:
    if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 1:
        raise ValueError(f"top_k must be a whole number of at least 1, got {top_k!r}")


def frames_duration(frames: int, hop_s: float, duration_s: float | None = None) -> float:
    """The length in seconds of a recording of ``frames`` frames, ``hop_s`` apart:
    ``duration_s`` when it fits them (``frames`` is ``floor(duration_s / hop_s)``, give or
    take one frame), else ``ValueError``; ``frames * hop_s`` when not given."""
    if frames < 1:
        raise ValueError("no frames: embed at least one window of audio")
    covered = frames * hop_s
    if duration_s is None:
        return covered
    if not covered - hop_s - 1e-6 <= duration_s <= covered + hop_s + 1e-6:
        raise ValueError(f"duration_s={duration_s:g} does not fit {frames} frames "
                         f"{hop_s:g} s apart (they cover {covered:g} s)")
    return float(duration_s)


class Retriever(FileRetriever):
    """AM-DETR with its feature encoder (see the module docstring)."""

    def __init__(self, model: AMDETR, encoder, window: WindowConfig, chunk_frames: int,
                 device: str | torch.device = "cpu",
                 presence_threshold: float | None = None,
                 calibration: Calibration | None = None) -> None:
        if chunk_frames < 1:
            raise ValueError(f"chunk_frames must be positive, got {chunk_frames}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.encoder = encoder
        self.window = window
        self.chunk_frames = chunk_frames
        self.presence_threshold = presence_threshold
        self.calibration = calibration

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu",
                        clap_model: str | None = None) -> Retriever:
        """Load a checkpoint written by training (``best.ckpt``); ``clap_model`` points at
        a local copy of CLAP's weights when the checkpoint uses CLAP."""
        checkpoint = read_am_detr_checkpoint(path)           # read once
        info = CheckpointInfo.of(checkpoint, str(path))
        device = resolve_device(device)
        encoder, window = encoder_from_reference(checkpoint["extra"]["features"], str(path),
                                                 str(device), clap_model)
        calibration = checkpoint["extra"].get(CALIBRATION_KEY)
        return cls(model_from_checkpoint(checkpoint, str(path), device), encoder, window,
                   int(checkpoint["train_frames"]), device, info.presence_threshold,
                   None if calibration is None else Calibration.from_json(calibration))

    @torch.no_grad()
    def _rank(self, frames: np.ndarray, query: str, top_k: int, duration_s: float
              ) -> tuple[list[Moment], dict[str, np.ndarray]]:
        hop = self.window.hop_s
        total = len(frames)
        [tokens], _ = self.encoder.query_features([query])
        starts = chunk_starts(total, self.chunk_frames)
        length = min(self.chunk_frames, total)
        audio = torch.from_numpy(np.stack([frames[s:s + length] for s in starts])).float()
        count = len(starts)
        token_tensor = torch.from_numpy(tokens).float()[None].expand(count, -1, -1)
        outputs = self.model(audio.to(self.device),
                             torch.ones(count, length, dtype=torch.bool, device=self.device),
                             token_tensor.to(self.device),
                             torch.ones(count, len(tokens), dtype=torch.bool,
                                        device=self.device))
        offsets = torch.tensor(starts, dtype=torch.float64) * hop
        moments = ranked_moments(outputs["pred_logits"], outputs["pred_spans"],
                                 torch.full((count,), length * hop, dtype=torch.float64),
                                 (duration_s - offsets).clamp(max=length * hop), hop)
        moments[..., :2] += offsets.numpy()[:, None, None]
        signals = presence_signals_of(outputs)
        if count == 1:          # one chunk: the model's moments as they come, no suppression
            return [Moment(float(s), float(e), float(p))
                    for s, e, p in moments[0, :top_k]], signals
        return merge_moments(moments.reshape(-1, 3), top_k), signals


class BaselineRetriever(FileRetriever):
    """The sliding-window baseline (:mod:`amr_lib.baseline`) with its feature encoder,
    read from the parameter file that tuning wrote (``baseline_<features>.json``)."""

    def __init__(self, params: BaselineParams, encoder, window: WindowConfig) -> None:
        self.params, self.encoder, self.window = params, encoder, window

    @classmethod
    def from_params(cls, path: str | Path, device: str = "cpu",
                    clap_model: str | None = None) -> BaselineRetriever:
        params, features, _ = read_params(path)
        encoder, window = encoder_from_file_reference(features, path,
                                                      str(resolve_device(device)), clap_model)
        return cls(params, encoder, window)

    def _rank(self, frames: np.ndarray, query: str, top_k: int, duration_s: float
              ) -> tuple[list[Moment], dict[str, np.ndarray]]:
        _, sentences = self.encoder.query_features([query])
        rows = detect(frame_similarity(frames, sentences[0]), self.params, self.window.hop_s,
                      duration_s, top_k)
        return [Moment(float(s), float(e), float(p)) for s, e, p in rows], {}


def presence_signals_of(outputs: dict[str, Any]) -> dict[str, np.ndarray]:
    """The signals of :func:`amr_lib.presence.presence_signals` for one query asked of
    every chunk of a recording (all frames real): ``{signal: (chunks,)}``, so each chunk
    gets its own probability and a sound is there when it is in any of them."""
    mask = torch.ones_like(outputs["saliency_scores"], dtype=torch.bool)
    return {name: value.cpu().double().numpy()
            for name, value in output_signals(outputs, mask).items()}


def chunk_starts(frames: int, chunk_frames: int) -> list[int]:
    """First frame of each chunk: every ``chunk_frames // 2`` frames, the last chunk ending
    at the last frame; one chunk at 0 when the recording fits."""
    if frames <= chunk_frames:
        return [0]
    step = max(1, chunk_frames // 2)
    starts = list(range(0, frames - chunk_frames, step))
    return [*starts, frames - chunk_frames]


def merge_moments(rows: np.ndarray, top_k: int, iou: float = MERGE_IOU) -> list[Moment]:
    """``(N, 3)`` [start, end, score] rows -> the ``top_k`` best, skipping any that
    overlaps an already kept one by IoU >= ``iou`` (copies from overlapping chunks)."""
    kept: list[np.ndarray] = []
    for row in rows[np.argsort(-rows[:, 2], kind="stable")]:
        if kept and temporal_iou(row[None, :2], np.array(kept)[:, :2]).max() >= iou:
            continue
        kept.append(row)
        if len(kept) == top_k:
            break
    return [Moment(float(s), float(e), float(p)) for s, e, p in kept]


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def find_recording(audio_dir: str | Path, vid: str) -> Path:
    """``audio_dir/{vid}.wav`` (or .flac, .ogg, .mp3); ``FileNotFoundError`` naming it."""
    for suffix in AUDIO_SUFFIXES:
        path = Path(audio_dir) / f"{vid}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(f"{Path(audio_dir) / vid}{{{','.join(AUDIO_SUFFIXES)}}}: no audio "
                            f"file for recording {vid!r}")


def predict_annotations(retriever: FileRetriever, annotations: list[MomentAnnotation],
                        audio_dir: str | Path, top_k: int = TOP_K) -> list[MomentPrediction]:
    """Lighthouse prediction records for every query, reading ``audio_dir/{vid}.*`` once
    per recording."""
    by_vid: dict[str, list[MomentAnnotation]] = {}
    for annotation in annotations:
        by_vid.setdefault(annotation.vid, []).append(annotation)
    predictions = {}
    for vid, queries in progress_bar(by_vid.items(), desc="recordings", leave=False):
        path = find_recording(audio_dir, vid)
        frames = retriever.embed(path)
        for annotation in queries:
            try:
                moments = retriever.retrieve_frames(frames, annotation.query, top_k,
                                                    duration_s=annotation.duration)
            except ValueError as problem:   # a duration that does not fit the audio
                raise ValueError(f"{path}: query {annotation.qid!r}: {problem}") from None
            predictions[annotation.qid] = MomentPrediction(
                annotation.qid, annotation.query, vid,
                np.array([[m.start_s, m.end_s, m.score] for m in moments]).reshape(-1, 3))
    return [predictions[annotation.qid] for annotation in annotations]
