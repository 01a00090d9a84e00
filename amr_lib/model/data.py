"""A whole split as padded tensors, so training batches are index lookups (no per-sample
Python, no data loader workers) and the split can live on the GPU.

One row per query. Recordings are stored once and shared by their queries::

    audio        (V, T, D)  float32  frame features of each recording (padded with zeros)
    audio_mask   (V, T)     bool     True on real frames
    recording    (Q,)       int64    which recording each query is about
    tokens       (Q, L, H)  float32  token states of each query (padded)
    token_mask   (Q, L)     bool
    spans_cxw    (Q, G, 2)  float32  true moments, normalised (center, width), padded
    span_count   (Q,)       int64    real moments per query
    saliency     (Q, T)     float32  1.0 on frames inside a moment (Lighthouse's rule)

Times are normalised by the length the frames cover, ``T_v * hop_s`` seconds.

Splits of corpora labelled by class also know each query's sound class and which classes
a caption of another can name (:mod:`amr_lib.simulation.classes`), so an absent text can
be drawn from a class the recording does not hold (:meth:`MomentSplit.absent_texts`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from functools import cached_property

import numpy as np
import torch

from amr_lib.features.store import FeatureStore
from amr_lib.lighthouse_jsonl import MomentAnnotation
from amr_lib.spans import span_xx_to_cxw


@dataclass
class MomentTargets:
    """Ground truth of one batch, on the same device as the predictions.

    ``present`` says which pairs are the recording's own query (the others are absent
    pairs). The last three fields exist for splits that know their classes (beyond the
    paper): the frames and spans of the recording's *other* events (of a class neither
    the query's nor entangled with it; none for an absent pair), and which rolled negative
    pairs are truly negative (recording i with the text of pair i + 1: false where that
    text names a class the recording holds)."""

    spans_cxw: list[torch.Tensor]     # B x (G_b, 2) normalised (center, width)
    saliency: torch.Tensor            # (B, T) 1.0 inside a moment, 0.0 elsewhere
    audio_mask: torch.Tensor          # (B, T) True on real frames
    present: torch.Tensor | None = None            # (B,) bool: the text's sound is there
    other: torch.Tensor | None = None              # (B, T) 1.0 on other events' frames
    other_spans_cxw: list[torch.Tensor] | None = None   # B x (M_b, 2)
    negative_ok: torch.Tensor | None = None        # (B,) bool


@dataclass(frozen=True)
class MomentBatch:
    """Model inputs and targets of a batch (see :meth:`MomentSplit.batch`)."""

    audio: torch.Tensor          # (B, T, D)
    audio_mask: torch.Tensor     # (B, T)
    tokens: torch.Tensor         # (B, L, H)
    token_mask: torch.Tensor     # (B, L)
    targets: MomentTargets
    rows: torch.Tensor           # (B,) the queries' rows in the split

    def model_inputs(self, negatives: bool) -> dict[str, torch.Tensor | bool]:
        """Keyword arguments of :meth:`~amr_lib.model.am_detr.AMDETR.forward`; with
        ``negatives``, the model also pairs every recording with the next query's text
        (QD-DETR's negative pairs)."""
        return {"audio": self.audio, "audio_mask": self.audio_mask, "tokens": self.tokens,
                "token_mask": self.token_mask, "negative_pairs": negatives}


@dataclass(frozen=True)
class MomentSplit:
    """The padded tensors of the module docstring, plus ids for writing predictions."""

    audio: torch.Tensor
    audio_mask: torch.Tensor
    recording: torch.Tensor
    tokens: torch.Tensor
    token_mask: torch.Tensor
    spans_cxw: torch.Tensor
    span_count: torch.Tensor
    saliency: torch.Tensor
    annotations: tuple[MomentAnnotation, ...]
    hop_s: float
    # what a predicted normalised span is a share of: the frames' length ("frames"), or
    # the annotation's duration ("duration", Lighthouse's inference, for released features)
    spans_over: str = "frames"
    classes: tuple[str, ...] = ()                # each query's sound class, where known
    entangled: frozenset[frozenset[str]] = frozenset()   # classes a caption of one names

    def __len__(self) -> int:
        return len(self.annotations)

    @property
    def audio_dim(self) -> int:
        return self.audio.shape[-1]

    @property
    def text_dim(self) -> int:
        return self.tokens.shape[-1]

    def length_s(self) -> torch.Tensor:
        """``(Q,)`` seconds covered by each query's frames."""
        return self.audio_mask.sum(1)[self.recording].double() * self.hop_s

    def prediction_length_s(self) -> torch.Tensor:
        """``(Q,)`` seconds a predicted normalised span is scaled by (see ``spans_over``;
        targets are always normalised by :meth:`length_s`, as Lighthouse's are)."""
        if self.spans_over == "duration":
            return torch.tensor([a.duration for a in self.annotations], dtype=torch.float64,
                                device=self.audio.device)
        return self.length_s()

    def to(self, device: str | torch.device) -> MomentSplit:
        moved = {f.name: getattr(self, f.name).to(device) for f in fields(self)
                 if isinstance(getattr(self, f.name), torch.Tensor)}
        return replace(self, **moved)

    def batch(self, rows: torch.Tensor, text_rows: torch.Tensor | None = None,
              classes: bool = False) -> MomentBatch:
        """Gather the queries at ``rows (B,)`` (on this split's device), trimmed to the
        longest recording and query in the batch.

        ``text_rows (B,)`` pairs the recording of ``rows[i]`` with the text of query
        ``text_rows[i]`` instead of its own; where the two differ the pair is *absent*
        (see :meth:`absent_texts`): no moment, no salient frame, every prediction
        background. With ``classes`` (a split that knows them) the targets also carry the
        other events and the checked negatives (:class:`MomentTargets`)."""
        rows = rows.to(self.recording.device)
        text_rows = rows if text_rows is None else text_rows.to(rows.device)
        present = text_rows == rows
        recordings = self.recording[rows]
        audio_mask = self.audio_mask[recordings]
        frames = int(audio_mask.sum(1).max())
        token_mask = self.token_mask[text_rows]
        length = int(token_mask.sum(1).max())
        counts = (self.span_count[rows] * present).tolist()
        spans = self.spans_cxw[rows]
        targets = MomentTargets(
            spans_cxw=[spans[i, :count] for i, count in enumerate(counts)],
            saliency=self.saliency[rows, :frames] * present[:, None],
            audio_mask=audio_mask[:, :frames], present=present)
        if classes:
            self._add_class_targets(targets, rows, text_rows, present, frames)
        return MomentBatch(self.audio[recordings, :frames], audio_mask[:, :frames],
                           self.tokens[text_rows, :length], token_mask[:, :length], targets,
                           rows)

    def _add_class_targets(self, targets: MomentTargets, rows: torch.Tensor,
                           text_rows: torch.Tensor, present: torch.Tensor, frames: int
                           ) -> None:
        """The other events and checked negatives of :class:`MomentTargets`."""
        if not self.classes:
            raise ValueError("class targets need the split's classes "
                             "(MomentSplit.with_classes); this split has none")
        other, spans = self._other_events
        device = rows.device
        targets.other = other.to(device)[rows, :frames] * present[:, None]
        targets.other_spans_cxw = [spans[row].to(device) if keep else spans[row][:0].to(device)
                                   for row, keep in zip(rows.tolist(), present.tolist(),
                                                        strict=True)]
        recording = self.recording.cpu().numpy()
        texts = text_rows.roll(-1).tolist()          # the text each negative pair reads
        targets.negative_ok = torch.tensor(
            [self.classes[text] not in self.not_absent(int(recording[row]))
             for row, text in zip(rows.tolist(), texts, strict=True)], device=device)

    @cached_property
    def _other_events(self) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(Q, T)`` 1.0 on the frames of each query's other events, and their
        ``(M_q, 2)`` normalised spans: the events of the same recording whose class is
        neither the query's nor entangled with it."""
        frames = torch.zeros_like(self.saliency)
        spans: list[torch.Tensor] = []
        by_recording: dict[int, list[int]] = {}
        for row, recording in enumerate(self.recording.tolist()):
            by_recording.setdefault(recording, []).append(row)
        for row, recording in enumerate(self.recording.tolist()):
            own = self.classes[row]
            near = {own} | {name for pair in self.entangled if own in pair for name in pair}
            others = [other for other in by_recording[recording]
                      if self.classes[other] not in near]
            found = [self.spans_cxw[other, :self.span_count[other]] for other in others]
            spans.append(torch.cat(found) if found else self.spans_cxw.new_zeros(0, 2))
            if others:
                frames[row] = self.saliency[others].amax(0)
        return frames, spans

    def with_classes(self, classes: Sequence[str],
                     entangled: frozenset[frozenset[str]] = frozenset()) -> MomentSplit:
        """This split with each query's sound class (annotation order) and the entangled
        pairs of classes (:func:`amr_lib.simulation.classes.entangled_pairs`)."""
        if len(classes) != len(self):
            raise ValueError(f"{len(classes)} classes for {len(self)} queries")
        return replace(self, classes=tuple(classes), entangled=frozenset(entangled))

    def not_absent(self, recording: int) -> frozenset[str]:
        """The classes recording ``recording`` holds, and those entangled with them: no
        text of these is absent from it."""
        return self._not_absent[recording]

    def absent_texts(self, rows: torch.Tensor, share: float, rng: np.random.Generator,
                     by_class: bool = False, hard_share: float = 0.0) -> torch.Tensor:
        """``(B,)`` text rows for :meth:`batch`: each row's own query, except at
        ``round(share * B)`` positions drawn by ``rng``, which get the text of a query
        about another recording.

        By text (default): a text none of this recording's queries shares (compared in
        lower case). The sound it describes was not placed in the recording, unless the
        same kind of sound came with another caption (a label noise of about the chance
        that two events share a class). By class (``by_class``, for splits that know their
        classes): a query of a class the recording neither holds nor is entangled with
        (:meth:`not_absent`), so the sound is truly not there; with probability
        ``hard_share`` from the allowed class nearest the row's own (:attr:`neighbours`),
        the hardest absent sound to tell apart."""
        if not 0 <= share <= 1 or not 0 <= hard_share <= 1:
            raise ValueError(f"absent and hard shares must be in [0, 1], got {share}, "
                             f"{hard_share}")
        if by_class and not self.classes:
            raise ValueError("absent texts by class need the split's classes "
                             "(MomentSplit.with_classes); this split has none")
        text_rows = rows.clone()
        count = round(share * len(rows))
        if count == 0:
            return text_rows
        takers = rng.choice(len(rows), count, replace=False)
        chosen = rows.cpu().numpy()[takers]
        donors = (self._class_donors(chosen, rng, hard_share) if by_class
                  else self._absent_donors(chosen, rng))
        text_rows[torch.from_numpy(takers).to(rows.device)] = torch.from_numpy(donors).to(
            rows.device)
        return text_rows

    def _class_donors(self, takers: np.ndarray, rng: np.random.Generator,
                      hard_share: float) -> np.ndarray:
        """For each row in ``takers``, a query whose class its recording does not hold."""
        recording = self.recording.cpu().numpy()
        donors = np.empty(len(takers), dtype=np.int64)
        for index, taker in enumerate(takers):
            held = self.not_absent(int(recording[taker]))
            allowed = [name for name in self._rows_by_class if name not in held]
            if not allowed:
                raise ValueError(f"recording {self.annotations[taker].vid!r} holds or is "
                                 "entangled with every class of the split: no absent text")
            if rng.random() < hard_share:
                own = self.classes[taker]
                name = next(n for n in self.neighbours[own] if n not in held)
            else:
                name = allowed[rng.integers(len(allowed))]
            candidates = self._rows_by_class[name]
            donors[index] = candidates[rng.integers(len(candidates))]
        return donors

    @cached_property
    def _rows_by_class(self) -> dict[str, np.ndarray]:
        names = np.asarray(self.classes)
        return {name: np.flatnonzero(names == name) for name in sorted(set(self.classes))}

    @cached_property
    def _not_absent(self) -> dict[int, frozenset[str]]:
        held: dict[int, set[str]] = {}
        for recording, name in zip(self.recording.tolist(), self.classes, strict=True):
            held.setdefault(recording, set()).add(name)
        return {recording: frozenset(names | {other for pair in self.entangled
                                              if pair & names for other in pair})
                for recording, names in held.items()}

    @cached_property
    def neighbours(self) -> dict[str, list[str]]:
        """Per class, every other class of the split from the nearest to the farthest: the
        cosine similarity of their mean token states (each query's mean over its real
        tokens, averaged over the class's queries)."""
        mask = self.token_mask.float()[..., None]
        queries = (self.tokens * mask).sum(1) / mask.sum(1).clamp(min=1)        # (Q, H)
        names = list(self._rows_by_class)
        centres = torch.nn.functional.normalize(torch.stack(
            [queries[torch.from_numpy(self._rows_by_class[n])].mean(0) for n in names]),
            dim=-1)
        similarity = (centres @ centres.T).cpu().numpy()
        return {name: [names[j] for j in np.argsort(-similarity[i], kind="stable") if j != i]
                for i, name in enumerate(names)}

    def _absent_donors(self, takers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """For each row in ``takers``, a query of another recording whose text none of the
        taker's recording's queries has (rejection sampling)."""
        text_id, recording, pairs, texts = self._text_index
        donors = rng.integers(len(self), size=len(takers))
        for _ in range(100):
            bad = ((recording[donors] == recording[takers])
                   | np.isin(recording[takers] * texts + text_id[donors], pairs))
            if not bad.any():
                return donors
            donors[bad] = rng.integers(len(self), size=int(bad.sum()))
        raise ValueError("no absent pair found: the split needs queries about at least two "
                         "recordings with different texts")

    @cached_property
    def _text_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Text id and recording of each query, the (recording, text) pairs that occur
        as ``recording * texts + text``, and the number of distinct texts."""
        _, text_id = np.unique([a.query.strip().lower() for a in self.annotations],
                               return_inverse=True)
        recording = self.recording.cpu().numpy()
        texts = int(text_id.max()) + 1
        return text_id, recording, np.unique(recording * texts + text_id), texts

    def recording_subset(self, share: float, seed: int) -> MomentSplit:
        """The queries of ``ceil(share * V)`` recordings drawn by ``seed``; a smaller share
        keeps a subset of a larger one's recordings (one permutation, cut shorter)."""
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], got {share}")
        count = self.audio.shape[0]
        order = torch.from_numpy(np.random.default_rng(seed).permutation(count))
        keep = order[:math.ceil(share * count - 1e-9)].sort().values          # (V',)
        new_index = torch.full((count,), -1, dtype=torch.int64)
        new_index[keep] = torch.arange(len(keep))
        rows = torch.nonzero(new_index[self.recording] >= 0).squeeze(1)      # (Q',)
        return replace(self, audio=self.audio[keep], audio_mask=self.audio_mask[keep],
                       recording=new_index[self.recording[rows]],
                       tokens=self.tokens[rows], token_mask=self.token_mask[rows],
                       spans_cxw=self.spans_cxw[rows], span_count=self.span_count[rows],
                       saliency=self.saliency[rows],
                       annotations=tuple(self.annotations[i] for i in rows.tolist()),
                       classes=tuple(self.classes[i] for i in rows.tolist())
                       if self.classes else ())

    @classmethod
    def concatenate(cls, splits: Sequence[MomentSplit]) -> MomentSplit:
        """One split holding every recording and query of ``splits`` (same hop and feature
        widths), padded to the longest recording, query and moment list."""
        if not splits:
            raise ValueError("nothing to concatenate")
        if len({(s.hop_s, s.audio_dim, s.text_dim, s.spans_over) for s in splits}) != 1:
            raise ValueError("splits with different hops or feature widths cannot be "
                             "concatenated")
        offsets = np.cumsum([0] + [s.audio.shape[0] for s in splits[:-1]])
        return cls(
            audio=_cat_padded([s.audio for s in splits]),
            audio_mask=_cat_padded([s.audio_mask for s in splits]),
            recording=torch.cat([s.recording + int(offset)
                                 for s, offset in zip(splits, offsets, strict=True)]),
            tokens=_cat_padded([s.tokens for s in splits]),
            token_mask=_cat_padded([s.token_mask for s in splits]),
            spans_cxw=_cat_padded([s.spans_cxw for s in splits]),
            span_count=torch.cat([s.span_count for s in splits]),
            saliency=_cat_padded([s.saliency for s in splits]),
            annotations=tuple(a for s in splits for a in s.annotations),
            hop_s=splits[0].hop_s, spans_over=splits[0].spans_over,
            # classes only where every part knows its own
            classes=tuple(c for s in splits for c in s.classes)
            if all(s.classes for s in splits) else (),
            entangled=frozenset().union(*(s.entangled for s in splits)))

    @classmethod
    def from_store(cls, store: FeatureStore, annotations: Sequence[MomentAnnotation],
                   hop_s: float) -> MomentSplit:
        """Read every recording and query of ``annotations`` from ``store``."""
        if not annotations:
            raise ValueError("no annotations: a split needs at least one query")
        vids = sorted({a.vid for a in annotations})
        frames = [store.load_audio(vid) for vid in vids]
        tokens = [store.load_tokens(a.qid) for a in annotations]
        return cls.from_arrays(frames, vids, tokens, annotations, hop_s)

    @classmethod
    def from_arrays(cls, frames: Sequence[np.ndarray], vids: Sequence[str],
                    tokens: Sequence[np.ndarray], annotations: Sequence[MomentAnnotation],
                    hop_s: float, spans_over: str = "frames") -> MomentSplit:
        """Build from in-memory ``(T_v, D)`` frames per vid and ``(L_q, H)`` tokens per
        annotation (same order as ``annotations``)."""
        if spans_over not in ("frames", "duration"):
            raise ValueError(f"spans_over must be 'frames' or 'duration', got {spans_over!r}")
        index = {vid: i for i, vid in enumerate(vids)}
        missing = sorted({a.vid for a in annotations} - set(index))
        if missing:
            raise ValueError(f"no features for recording(s) {missing[:3]}")
        audio, audio_mask = pad_arrays(frames)
        token_array, token_mask = pad_arrays(tokens)
        recording = torch.tensor([index[a.vid] for a in annotations], dtype=torch.int64)
        lengths = audio_mask.sum(1)[recording].double() * hop_s                # (Q,) s
        windows = [torch.as_tensor(a.relevant_windows, dtype=torch.float64)
                   for a in annotations]
        spans = torch.zeros(len(annotations), max(len(w) for w in windows), 2)
        saliency = torch.zeros(len(annotations), audio.shape[1])
        for row, (window, length) in enumerate(zip(windows, lengths, strict=True)):
            clamped = window.clamp(0, float(length))
            spans[row, :len(window)] = span_xx_to_cxw(clamped / length).float()
            frames_v = int(audio_mask[recording[row]].sum())
            for start, end in clamped.tolist():
                first, last = saliency_frames(start, end, hop_s, frames_v)
                saliency[row, first:last + 1] = 1.0
        return cls(audio, audio_mask, recording, token_array, token_mask, spans,
                   torch.tensor([len(w) for w in windows]), saliency, tuple(annotations),
                   hop_s, spans_over)


def saliency_frames(start_s: float, end_s: float, hop_s: float, frames: int
                    ) -> tuple[int, int]:
    """First and last frame (inclusive) labelled salient for a moment, as Lighthouse does:
    ``int(start / hop)`` to ``min(int(end / hop), T) - 1``, never an empty range."""
    last = max(0, min(int(end_s / hop_s), frames) - 1)
    return min(int(start_s / hop_s), last), last


def pad_arrays(arrays: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """``[(L_i, D)]`` -> zero-padded ``(N, max L, D)`` float32 and ``(N, max L)`` mask."""
    widths = {a.shape[1] for a in arrays}
    if len(widths) != 1:
        raise ValueError(f"features of different widths {sorted(widths)} cannot be batched")
    longest = max(len(a) for a in arrays)
    out = torch.zeros(len(arrays), longest, widths.pop())
    mask = torch.zeros(len(arrays), longest, dtype=torch.bool)
    for i, array in enumerate(arrays):
        out[i, :len(array)] = torch.from_numpy(np.asarray(array, dtype=np.float32))
        mask[i, :len(array)] = True
    return out, mask


def _cat_padded(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Concatenate on dim 0, zero-padding every other dim to the largest size."""
    shape = [max(t.shape[d] for t in tensors) for d in range(tensors[0].dim())]
    padded = []
    for tensor in tensors:
        pad: list[int] = []
        for d in reversed(range(1, tensor.dim())):        # F.pad lists the last dim first
            pad += [0, shape[d] - tensor.shape[d]]
        padded.append(torch.nn.functional.pad(tensor, pad))
    return torch.cat(padded)
