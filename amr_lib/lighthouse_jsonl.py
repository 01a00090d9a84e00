"""Lighthouse JSONL: the file format of moment-retrieval annotations and predictions.

One JSON object per line (Lighthouse / moment_detr / QVHighlights convention):

- annotation: ``{"qid", "query", "duration", "vid", "relevant_windows": [[start, end], ...]}``
- prediction: ``{"qid", "query", "vid", "pred_relevant_windows": [[start, end, score], ...]}``

Times are in seconds. ``qid`` is an int or a string, kept as found (released files use both).
Extra keys (``fg_dB``, ``pred_saliency_scores``, ...) are ignored. Every problem is reported
as a :class:`LighthouseFormatError` naming the file and line; nothing is silently dropped.

Prediction windows are expected ranked by score, best first: Lighthouse's evaluation takes
the first window as the top-1 and keeps the first 10, in file order. Reading a file whose
windows are not ranked emits :class:`UnrankedPredictionsWarning`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from operator import le
from pathlib import Path
from typing import Any

import numpy as np

from amr_lib.storage.jsonl import read_json_lines, write_json_lines

QueryId = int | str


class LighthouseFormatError(ValueError):
    """A Lighthouse JSONL file (or record) that cannot be used as it is."""


class UnrankedPredictionsWarning(UserWarning):
    """Prediction windows not sorted by descending score (Lighthouse ranks by file order)."""


@dataclass(frozen=True)
class MomentAnnotation:
    """Ground truth for one query.

    ``relevant_windows``: ``(G, 2)`` float64 start/end in seconds, ``G >= 1``.
    """

    qid: QueryId
    query: str
    duration: float
    vid: str
    relevant_windows: np.ndarray

    def __post_init__(self) -> None:
        _check_qid(self.qid)
        _check_text(self.query, "query")
        _check_text(self.vid, "vid")
        if not _is_number(self.duration) or not math.isfinite(self.duration) or self.duration <= 0:
            raise LighthouseFormatError(
                f"'duration' must be a positive number, got {self.duration!r}")
        windows = _windows(self.relevant_windows, "relevant_windows", columns=2)
        if len(windows) == 0:
            raise LighthouseFormatError("'relevant_windows' is empty: a query needs a moment")
        object.__setattr__(self, "relevant_windows", windows)

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> MomentAnnotation:
        _require_keys(record, ("qid", "query", "duration", "vid", "relevant_windows"))
        return cls(record["qid"], record["query"], record["duration"], record["vid"],
                   record["relevant_windows"])

    def to_json(self) -> dict[str, Any]:
        return {"qid": self.qid, "query": self.query, "duration": self.duration,
                "vid": self.vid, "relevant_windows": self.relevant_windows.tolist()}


@dataclass(frozen=True)
class MomentPrediction:
    """Ranked predictions for one query.

    ``pred_relevant_windows``: ``(K, 3)`` float64 start/end in seconds and a score, best
    first; ``K`` may be 0 (the query then scores 0 AP and misses R1).
    """

    qid: QueryId
    query: str
    vid: str
    pred_relevant_windows: np.ndarray

    def __post_init__(self) -> None:
        _check_qid(self.qid)
        _check_text(self.query, "query")
        _check_text(self.vid, "vid")
        windows = _windows(self.pred_relevant_windows, "pred_relevant_windows", columns=3)
        object.__setattr__(self, "pred_relevant_windows", windows)

    @property
    def is_ranked(self) -> bool:
        """Whether scores never increase down the list."""
        scores = self.pred_relevant_windows[:, 2]
        return bool((scores[1:] <= scores[:-1]).all())

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> MomentPrediction:
        _require_keys(record, ("qid", "query", "vid", "pred_relevant_windows"))
        return cls(record["qid"], record["query"], record["vid"], record["pred_relevant_windows"])

    def to_json(self) -> dict[str, Any]:
        return {"qid": self.qid, "query": self.query, "vid": self.vid,
                "pred_relevant_windows": self.pred_relevant_windows.tolist()}


def read_annotations(path: str | Path) -> list[MomentAnnotation]:
    """Read a Lighthouse annotation JSONL file (see module docstring)."""
    return _read(Path(path), MomentAnnotation.from_json)


def read_predictions(path: str | Path) -> list[MomentPrediction]:
    """Read a Lighthouse prediction JSONL file; warns if windows are not ranked by score."""
    path = Path(path)
    predictions = _read(path, MomentPrediction.from_json)
    unranked = [i for i, p in enumerate(predictions) if not p.is_ranked]
    if unranked:
        warnings.warn(
            f"{path}: {len(unranked)} record(s) list windows not sorted by descending score "
            f"(first: qid {predictions[unranked[0]].qid!r}); Lighthouse's metrics use file "
            "order for the top-1 and the first 10 windows, and so do ours",
            UnrankedPredictionsWarning, stacklevel=2)
    return predictions


def write_annotations(path: str | Path, annotations: Iterable[MomentAnnotation]) -> None:
    """Write annotations as JSONL, atomically (a partial file never appears at ``path``)."""
    write_json_lines(Path(path), (a.to_json() for a in annotations))


def write_predictions(path: str | Path, predictions: Iterable[MomentPrediction]) -> None:
    """Write predictions as JSONL, atomically (a partial file never appears at ``path``)."""
    write_json_lines(Path(path), (p.to_json() for p in predictions))


def _read(path: Path, parse) -> list:
    records, first_line_of_qid = [], {}
    for line_number, record in read_json_lines(path, LighthouseFormatError):
        try:
            item = parse(record)
        except LighthouseFormatError as error:
            raise LighthouseFormatError(f"{path}:{line_number}: {error}") from None
        if item.qid in first_line_of_qid:
            raise LighthouseFormatError(
                f"{path}:{line_number}: qid {item.qid!r} already appeared on line "
                f"{first_line_of_qid[item.qid]}")
        first_line_of_qid[item.qid] = line_number
        records.append(item)
    if not records:
        raise LighthouseFormatError(f"{path}: empty file, no JSON records")
    return records


def _require_keys(record: dict[str, Any], keys: tuple[str, ...]) -> None:
    missing = [key for key in keys if key not in record]
    if missing:
        raise LighthouseFormatError(f"missing key(s) {', '.join(map(repr, missing))}")


def _check_qid(qid: object) -> None:
    if isinstance(qid, bool) or not isinstance(qid, int | str):
        raise LighthouseFormatError(f"'qid' must be an int or a string, got {qid!r}")


def _check_text(value: object, key: str) -> None:
    if not isinstance(value, str):
        raise LighthouseFormatError(f"{key!r} must be a string, got {value!r}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_LIST = {list}
_PLAIN_NUMBERS = {int, float}


def _windows(value: object, key: str, columns: int) -> np.ndarray:
    """Validate a list of windows -> ``(N, columns)`` float64 array."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    # fast path: a list of lists of plain numbers, checked by C-level maps over the flat
    # values (one numpy call per record: 100,000-line files spend most of their time here)
    if (isinstance(value, list) and set(map(type, value)) <= _LIST
            and set(map(len, value)) <= {columns}):
        flat = list(chain.from_iterable(value))
        starts, ends = flat[0::columns], flat[1::columns]
        if (set(map(type, flat)) <= _PLAIN_NUMBERS and all(map(math.isfinite, flat))
                and min(starts, default=0) >= 0 and all(map(le, starts, ends))):
            return np.array(value, dtype=np.float64).reshape(len(value), columns)
    _explain_bad_windows(value, key, columns)   # raises, naming the first bad window
    return np.asarray(value, dtype=np.float64).reshape(len(value), columns)


def _explain_bad_windows(value: object, key: str, columns: int) -> None:
    """Raise :class:`LighthouseFormatError` about the first bad window of ``value``."""
    what = "[start, end]" if columns == 2 else "[start, end, score]"
    if not isinstance(value, list):
        raise LighthouseFormatError(f"{key!r} must be a list of {what}, got {value!r}")
    for index, window in enumerate(value):
        if (not isinstance(window, list | tuple) or len(window) != columns
                or not all(_is_number(v) for v in window)):
            raise LighthouseFormatError(f"{key!r}[{index}] must be {what} numbers, got {window!r}")
        if not all(math.isfinite(v) for v in window):
            raise LighthouseFormatError(f"{key!r}[{index}] has a NaN or infinite value: {window!r}")
        start, end = window[0], window[1]
        if start < 0:
            raise LighthouseFormatError(f"{key!r}[{index}] starts at a negative time: {window!r}")
        if end < start:
            raise LighthouseFormatError(f"{key!r}[{index}] ends before it starts: {window!r}")
