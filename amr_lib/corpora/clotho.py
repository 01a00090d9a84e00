"""Clotho v2.1 as a clip corpus: real clips with five human captions each.

Layout (Clotho v2.1 as distributed; any subset of the three splits may be present)::

    root/clotho_captions_development.csv   root/development/<file_name>   -> split "train"
    root/clotho_captions_validation.csv    root/validation/<file_name>    -> split "valid"
    root/clotho_captions_evaluation.csv    root/evaluation/<file_name>    -> split "test"

Each captions CSV has the header ``file_name,caption_1,...,caption_5`` and one row per clip;
file names may contain spaces and captions may be quoted and contain commas. A clip's id is its
file name without the extension and must be unique over all splits read. Clotho's own split is
kept as it is (the paper uses Clotho's development/validation/evaluation sets for
Clotho-Moment's train/valid/test foregrounds). Clips are 15-30 s, 44.1 kHz; ``load`` returns
them mono at the corpus rate.

:func:`~amr_lib.corpora.files.read_csv_records` (CSV rows with their line numbers, for
error messages) is shared with the ESC-50 corpus.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from amr_lib.audio import SAMPLE_RATE
from amr_lib.corpora.base import CAPTIONS_PER_CLIP, SPLITS, ClipInfo, CorpusError
from amr_lib.corpora.files import (
    FileClipCorpus,
    check_sample_rate,
    file_digest,
    read_csv_records,
)

CLOTHO_SPLIT_FOLDERS = {"train": "development", "valid": "validation", "test": "evaluation"}
FILE_NAME_COLUMN = "file_name"
CAPTION_COLUMNS = tuple(f"caption_{i}" for i in range(1, CAPTIONS_PER_CLIP + 1))


def captions_csv_name(split: str) -> str:
    """The captions file of one split, e.g. ``clotho_captions_evaluation.csv`` for "test"."""
    return f"clotho_captions_{CLOTHO_SPLIT_FOLDERS[split]}.csv"


class ClothoClipCorpus(FileClipCorpus):
    """Clotho v2.1 clips with their five captions, split as Clotho splits them.

    ``root`` holds the captions CSVs and audio folders (module docstring); ``splits`` chooses
    which of "train"/"valid"/"test" to read, and those whose CSV is absent are skipped (at
    least one must be present). Audio is loaded as ``(N,)`` float32 mono at ``sample_rate`` Hz.
    """

    name = "clotho"

    def __init__(self, root: str | Path, sample_rate: int = SAMPLE_RATE,
                 splits: Sequence[str] = SPLITS) -> None:
        self.root = Path(root).expanduser().resolve()
        self.sample_rate = check_sample_rate(sample_rate)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: no such Clotho folder")
        self.splits = _check_splits(splits)
        self._csv_paths = {split: self.root / captions_csv_name(split) for split in self.splits
                           if (self.root / captions_csv_name(split)).is_file()}
        if not self._csv_paths:
            expected = ", ".join(captions_csv_name(split) for split in self.splits)
            raise CorpusError(f"{self.root}: no Clotho captions CSV found; expected at least "
                              f"one of {expected}")
        self._infos: list[ClipInfo] = []
        self._paths: dict[str, Path] = {}
        origins: dict[str, str] = {}
        for split, csv_path in self._csv_paths.items():
            for line, info, audio_path in self._read_split(split, csv_path):
                if info.clip_id in origins:
                    raise CorpusError(f"{csv_path}, line {line}: clip id {info.clip_id!r} "
                                      f"already used at {origins[info.clip_id]}")
                origins[info.clip_id] = f"{csv_path}, line {line}"
                self._infos.append(info)
                self._paths[info.clip_id] = audio_path

    def _read_split(self, split: str, csv_path: Path) -> Iterator[tuple[int, ClipInfo, Path]]:
        """``(line, clip, audio path)`` for every row of one split's captions CSV."""
        folder = self.root / CLOTHO_SPLIT_FOLDERS[split]
        if not folder.is_dir():
            raise CorpusError(f"{csv_path}: its audio folder {folder} does not exist")
        for line, row in read_csv_records(csv_path, (FILE_NAME_COLUMN, *CAPTION_COLUMNS)):
            file_name = row[FILE_NAME_COLUMN]       # kept verbatim: it names a file
            if not file_name.strip():
                raise CorpusError(f"{csv_path}, line {line}: empty {FILE_NAME_COLUMN}")
            captions = tuple(row[column].strip() for column in CAPTION_COLUMNS)
            empty = [column for column, text in zip(CAPTION_COLUMNS, captions, strict=True)
                     if not text]
            if empty:
                raise CorpusError(f"{csv_path}, line {line}: {file_name!r} has an empty "
                                  f"{', '.join(empty)}")
            audio_path = folder / file_name
            if not audio_path.is_file():
                raise CorpusError(f"{csv_path}, line {line}: audio file {audio_path} "
                                  "does not exist")
            yield line, ClipInfo(Path(file_name).stem, captions, split), audio_path

    def _clip_infos(self) -> Sequence[ClipInfo]:
        return self._infos

    def fingerprint(self) -> dict[str, Any]:
        """Name, rate (Hz) and the content digest of each captions CSV read (not the folder
        or the mtimes: see :func:`~amr_lib.corpora.files.file_digest`)."""
        return {"corpus": self.name, "sample_rate": self.sample_rate,
                "csv": {path.name: file_digest(path) for path in self._csv_paths.values()}}


def _check_splits(splits: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(splits))
    unknown = [split for split in chosen if split not in SPLITS]
    if unknown or not chosen:
        raise ValueError(f"splits must be a non-empty subset of {SPLITS}, got {list(splits)!r}")
    return chosen
