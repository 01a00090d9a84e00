"""A folder of long recordings as a background corpus (Walking Tours, urban ambience).

Layout: every audio file under ``root`` whose extension is one of ``extensions`` (searched
recursively, case-insensitively, in sorted order; hidden files and folders are skipped) is one
long recording, e.g. Walking Tours audio extracted to WAV/FLAC or ``urban_ambience/audio``.
A recording's id is its path relative to ``root`` without the extension, with folder
separators written ``__`` (``city/paris.wav`` -> ``city__paris``).

Split rule: whole recordings go to train/valid/test in the ratio 7:1:2
(:func:`amr_lib.corpora.base.split_by_recording` with ``seed``), never individual segments,
so no stretch of one recording appears in two splits (Clotho-Moment's rule).

Only file headers are read when the corpus is built; ``load`` decodes just the requested time
range and resamples it to the corpus rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from amr_lib.audio import SAMPLE_RATE, audio_duration, load_audio
from amr_lib.corpora.base import BackgroundCorpus, CorpusError, RecordingInfo, split_by_recording
from amr_lib.corpora.files import check_sample_rate, file_digest

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
NESTED_SEPARATOR = "__"        # replaces "/" in the ids of recordings in sub-folders
RANGE_TOLERANCE_S = 1e-6       # float slack when a requested range ends at the recording's end


def recording_id_for(relative: Path) -> str:
    """Id of the recording at ``relative`` (a path under the root): no extension, "/" -> "__"."""
    return NESTED_SEPARATOR.join(relative.with_suffix("").parts)


class FolderBackgroundCorpus(BackgroundCorpus):
    """Every audio file under ``root`` is one long background recording.

    Durations (seconds) come from file headers. Audio is loaded as ``(N,)`` float32 mono at
    ``sample_rate`` Hz. Recordings are split 7:1:2 with ``seed`` (module docstring).
    """

    name = "folder"

    def __init__(self, root: str | Path, sample_rate: int = SAMPLE_RATE, seed: int = 0,
                 extensions: Sequence[str] = AUDIO_EXTENSIONS) -> None:
        self.root = Path(root).expanduser().resolve()
        self.sample_rate = check_sample_rate(sample_rate)
        self.seed = seed
        self.extensions = _normalise_extensions(extensions)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: no such folder of background recordings")
        self._paths = self._find_recordings()
        durations = {rid: audio_duration(path) for rid, path in self._paths.items()}
        silent = [str(self._paths[rid]) for rid, seconds in durations.items() if seconds <= 0]
        if silent:
            raise CorpusError(f"{silent[0]}: recording has no samples")
        splits = split_by_recording(list(self._paths), seed)
        self._infos = [RecordingInfo(rid, durations[rid], splits[rid]) for rid in self._paths]
        self._durations = durations

    def _find_recordings(self) -> dict[str, Path]:
        """``{recording_id: path}`` of every audio file under the root, in sorted path order."""
        found = sorted(path.relative_to(self.root) for path in self.root.rglob("*")
                       if path.suffix.lower() in self.extensions and path.is_file())
        found = [relative for relative in found
                 if not any(part.startswith(".") for part in relative.parts)]
        if not found:
            raise CorpusError(f"{self.root}: no audio files (looked for "
                              f"{', '.join(self.extensions)}, recursively)")
        paths: dict[str, Path] = {}
        for relative in found:
            rid = recording_id_for(relative)
            if rid in paths:
                raise CorpusError(f"{self.root / relative} and {paths[rid]} both map to "
                                  f"recording id {rid!r}; rename one")
            paths[rid] = self.root / relative
        return paths

    def _recording_infos(self) -> Sequence[RecordingInfo]:
        return self._infos

    def audio_path(self, recording_id: str) -> Path:
        """The recording's audio file."""
        try:
            return self._paths[recording_id]
        except KeyError:
            raise KeyError(f"background corpus {self.name!r} ({self.root}) has no recording "
                           f"{recording_id!r}") from None

    def duration_s(self, recording_id: str) -> float:
        """The recording's length in seconds (from its header)."""
        self.audio_path(recording_id)
        return self._durations[recording_id]

    def load(self, recording_id: str, start_s: float = 0.0,
             duration_s: float | None = None) -> np.ndarray:
        """``(N,)`` float32 mono at ``self.sample_rate`` Hz of the range
        ``[start_s, start_s + duration_s)`` seconds (to the end when ``duration_s`` is None).

        Only that range is decoded. A range that starts before 0, is empty, or ends after the
        recording raises :class:`~amr_lib.corpora.base.CorpusError` naming the file.
        """
        path = self.audio_path(recording_id)
        total_s = self._durations[recording_id]
        end_s = total_s if duration_s is None else start_s + duration_s
        if (start_s < 0 or start_s >= total_s or (duration_s is not None and duration_s <= 0)
                or end_s > total_s + RANGE_TOLERANCE_S):
            raise CorpusError(f"{path}: cannot read {start_s:g} s to {end_s:g} s of a "
                              f"{total_s:g} s recording")
        audio, _ = load_audio(path, sample_rate=self.sample_rate, start_s=start_s,
                              duration_s=duration_s)
        return audio

    def fingerprint(self) -> dict[str, Any]:
        """Name, rate (Hz), split seed and the relative path, size (bytes) and SHA-256 of
        every file (not the folder or the mtimes: see
        :func:`~amr_lib.corpora.files.file_digest`)."""
        files = [{"path": path.relative_to(self.root).as_posix(), **file_digest(path)}
                 for path in self._paths.values()]
        return {"corpus": self.name, "sample_rate": self.sample_rate, "seed": self.seed,
                "files": files}


def _normalise_extensions(extensions: Sequence[str]) -> tuple[str, ...]:
    """Lower-case extensions with a leading dot; refuses an empty list."""
    if isinstance(extensions, str):
        extensions = (extensions,)
    normalised = tuple(dict.fromkeys(
        (ext if ext.startswith(".") else f".{ext}").lower() for ext in extensions))
    if not normalised:
        raise ValueError("extensions must name at least one audio file extension")
    return normalised
