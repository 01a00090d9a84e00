"""File helpers shared by the real corpora: CSV rows with line numbers, content digests of
files, and the lookup and loading of clips that are audio files."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from functools import cache
from numbers import Integral
from pathlib import Path

import numpy as np

from amr_lib.audio import load_audio
from amr_lib.corpora.base import ClipCorpus, CorpusError
from amr_lib.storage.cache import file_sha256

CSV_ENCODING = "utf-8-sig"          # tolerate a byte-order mark some editors add


def read_csv_records(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV file with a header, as ``(line_number, {column: value})``.

    ``line_number`` is 1-based and names the physical line where the row starts (a quoted
    field may span lines). Blank lines are skipped. Raises
    :class:`~amr_lib.corpora.base.CorpusError` naming the file and line for a missing
    required column, a row whose field count differs from the header's, or text that is
    not UTF-8.
    """
    try:
        with path.open(newline="", encoding=CSV_ENCODING) as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise CorpusError(f"{path}: empty file, expected a header naming "
                                  f"{', '.join(required)}")
            columns = [name.strip() for name in header]
            missing = [name for name in required if name not in columns]
            if missing:
                raise CorpusError(f"{path}, line 1: missing column(s) {', '.join(missing)} "
                                  f"(header has {', '.join(columns)})")
            last_line = reader.line_num
            for fields in reader:
                line, last_line = last_line + 1, reader.line_num
                if not any(field.strip() for field in fields):
                    continue
                if len(fields) != len(columns):
                    raise CorpusError(f"{path}, line {line}: expected {len(columns)} fields "
                                      f"({', '.join(columns)}), got {len(fields)}")
                yield line, dict(zip(columns, fields, strict=True))
    except UnicodeDecodeError as error:
        raise CorpusError(f"{path}: not UTF-8 text ({error})") from None
    except csv.Error as error:
        raise CorpusError(f"{path}: malformed CSV ({error})") from None


def check_sample_rate(sample_rate: int) -> int:
    """A positive integer rate in Hz, or :class:`ValueError`."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, Integral) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer in Hz, got {sample_rate!r}")
    return int(sample_rate)


def file_digest(path: Path) -> dict[str, int | str]:
    """Identity of a file's content: its size in bytes and the SHA-256 of its bytes.

    Not its modification time or its folder: a data folder mounted again (new mtimes) or
    read from another place keeps every cache built on it. Each file is read once per
    process and (size, mtime) pair.
    """
    status = path.stat()
    return {"size": status.st_size,
            "sha256": _sha256(str(path.resolve()), status.st_size, status.st_mtime_ns)}


@cache
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """:func:`file_sha256` memoised; ``size`` and ``mtime_ns`` only key the memo."""
    return file_sha256(path)


class FileClipCorpus(ClipCorpus):
    """A clip corpus whose clips are audio files (Clotho, ESC-50).

    Subclasses fill ``self._paths`` (clip id -> file) and set ``root`` and ``sample_rate``.
    """

    root: Path
    _paths: dict[str, Path]

    def audio_path(self, clip_id: str) -> Path:
        """The clip's audio file."""
        try:
            return self._paths[clip_id]
        except KeyError:
            raise KeyError(f"clip corpus {self.name!r} ({self.root}) has no clip "
                           f"{clip_id!r}") from None

    def load(self, clip_id: str) -> np.ndarray:
        """The clip as ``(N,)`` float32 mono at ``self.sample_rate`` Hz, resampled from the
        file's rate."""
        audio, _ = load_audio(self.audio_path(clip_id), sample_rate=self.sample_rate)
        return audio
