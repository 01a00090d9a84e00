"""Clotho clip corpus: the real Clotho v2.1 evaluation fixture and broken copies of it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from amr_lib.corpora.base import CorpusError
from amr_lib.corpora.clotho import CAPTION_COLUMNS, ClothoClipCorpus, captions_csv_name

EVALUATION_CSV = "clotho_captions_evaluation.csv"
HEADER = "file_name," + ",".join(CAPTION_COLUMNS)
KNOWN_CLIP = "Flipping Pages"
CLOTHO_RATE = 44_100   # Hz


@pytest.fixture(scope="module")
def clotho_root(data_root: Path) -> Path:
    return data_root / "clotho_mini"


@pytest.fixture(scope="module")
def corpus(clotho_root: Path) -> ClothoClipCorpus:
    return ClothoClipCorpus(clotho_root)


@pytest.fixture(scope="module")
def csv_rows(clotho_root: Path) -> dict[str, dict[str, str]]:
    with (clotho_root / EVALUATION_CSV).open(newline="", encoding="utf-8") as handle:
        return {row["file_name"]: row for row in csv.DictReader(handle)}


def caption_line(file_name: str, captions: list[str]) -> str:
    """One CSV line, every field quoted (file names have spaces, captions commas)."""
    return ",".join(f'"{field}"' for field in [file_name, *captions])


def make_layout(tmp_path: Path, clotho_root: Path, csv_text: str,
                audio: tuple[str, ...] = (f"{KNOWN_CLIP}.wav",), folder: str = "evaluation",
                csv_name: str = EVALUATION_CSV) -> Path:
    """A Clotho layout in ``tmp_path`` with the given CSV and symlinks to real audio files."""
    (tmp_path / folder).mkdir(exist_ok=True)
    for name in audio:
        (tmp_path / folder / name).symlink_to(clotho_root / "evaluation" / name)
    (tmp_path / csv_name).write_text(csv_text, encoding="utf-8")
    return tmp_path


def test_real_fixture_has_seven_test_clips_with_their_csv_captions(corpus, csv_rows):
    clips = corpus.clips("test")
    assert len(corpus) == len(clips) == 7
    assert {clip.clip_id for clip in clips} == {Path(name).stem for name in csv_rows}
    for clip in clips:
        row = csv_rows[f"{clip.clip_id}.wav"]
        assert clip.captions == tuple(row[column].strip() for column in CAPTION_COLUMNS)
    known = next(clip for clip in clips if clip.clip_id == KNOWN_CLIP)
    assert known.captions[0] == csv_rows[f"{KNOWN_CLIP}.wav"]["caption_1"]
    assert known.captions[0] == "A person is flipping several pages in a book"
    with pytest.raises(CorpusError, match="split 'train'"):
        corpus.clips("train")


def test_quoted_captions_with_commas_stay_whole(corpus):
    elevator = next(c for c in corpus if c.clip_id.startswith("01 hospital elevator"))
    assert elevator.captions[1] == ("An elevator descending while making a warning beeping "
                                    "sound, the elevator announces something.")


@pytest.mark.parametrize("clip_id", [KNOWN_CLIP, "Tenerife_bazaar_2"])
def test_load_resamples_44k_to_16k_mono(corpus, clip_id):
    frames = sf.info(str(corpus.audio_path(clip_id))).frames
    audio = corpus.load(clip_id)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size - round(frames * 16_000 / CLOTHO_RATE)) <= 1
    assert np.isfinite(audio).all() and 0 < np.abs(audio).max() <= 1.5


def test_native_rate_returns_the_file_samples(clotho_root):
    corpus = ClothoClipCorpus(clotho_root, sample_rate=CLOTHO_RATE)
    expected, _ = sf.read(str(corpus.audio_path(KNOWN_CLIP)), dtype="float32")
    np.testing.assert_array_equal(corpus.load(KNOWN_CLIP), expected)


def test_fingerprint_is_json_and_tracks_the_csv(tmp_path, clotho_root, csv_rows):
    row = csv_rows[f"{KNOWN_CLIP}.wav"]
    captions = [row[column] for column in CAPTION_COLUMNS]
    root = make_layout(tmp_path, clotho_root,
                       f"{HEADER}\n{caption_line(row['file_name'], captions)}\n")
    before = ClothoClipCorpus(root).fingerprint()
    assert json.loads(json.dumps(before)) == before
    assert "root" not in before and before["sample_rate"] == 16_000
    # the same files in another folder, with other mtimes: the same key
    (tmp_path / "again").mkdir()
    again = make_layout(tmp_path / "again", clotho_root,
                        f"{HEADER}\n{caption_line(row['file_name'], captions)}\n")
    assert ClothoClipCorpus(again).fingerprint() == before
    captions[0] = "A person turns a page."
    (root / EVALUATION_CSV).write_text(f"{HEADER}\n{caption_line(row['file_name'], captions)}\n",
                                       encoding="utf-8")
    assert ClothoClipCorpus(root).fingerprint() != before


def test_development_csv_maps_to_train_and_splits_filter(tmp_path, clotho_root):
    dev_text = f"{HEADER}\n{caption_line('Tenerife_bazaar_2.wav', ['people talk'] * 5)}\n"
    make_layout(tmp_path, clotho_root, dev_text, audio=("Tenerife_bazaar_2.wav",),
                folder="development", csv_name=captions_csv_name("train"))
    eval_text = f"{HEADER}\n{caption_line(f'{KNOWN_CLIP}.wav', ['pages turn'] * 5)}\n"
    root = make_layout(tmp_path, clotho_root, eval_text)
    both = ClothoClipCorpus(root)
    assert [(c.clip_id, c.split) for c in both] == [("Tenerife_bazaar_2", "train"),
                                                   (KNOWN_CLIP, "test")]
    only_test = ClothoClipCorpus(root, splits=("test",))
    assert [c.clip_id for c in only_test] == [KNOWN_CLIP]


def test_empty_caption_names_csv_and_physical_line(tmp_path, clotho_root):
    """Rows spanning lines (quoted newlines) are reported at the line where they start."""
    multiline = caption_line("Tenerife_bazaar_2.wav", ["people\ntalk", "b", "c", "d", "e"])
    broken = caption_line(f"{KNOWN_CLIP}.wav", ["a\nfew pages", "b", "  ", "d", "e"])
    root = make_layout(tmp_path, clotho_root, f"{HEADER}\n{multiline}\n{broken}\n",
                       audio=(f"{KNOWN_CLIP}.wav", "Tenerife_bazaar_2.wav"))
    with pytest.raises(CorpusError, match=r"clotho_captions_evaluation\.csv, line 4: .*caption_3"):
        ClothoClipCorpus(root)


def test_missing_caption_field_names_the_line(tmp_path, clotho_root):
    short_row = caption_line(f"{KNOWN_CLIP}.wav", ["a", "b", "c", "d"])
    root = make_layout(tmp_path, clotho_root, f"{HEADER}\n{short_row}\n")
    with pytest.raises(CorpusError, match=r"evaluation\.csv, line 2: expected 6 fields.*got 5"):
        ClothoClipCorpus(root)


def test_missing_audio_names_the_path_and_line(tmp_path, clotho_root):
    rows = [caption_line(f"{KNOWN_CLIP}.wav", list("abcde")),
            caption_line("no such clip.wav", list("abcde"))]
    root = make_layout(tmp_path, clotho_root, "\n".join([HEADER, *rows]) + "\n")
    with pytest.raises(CorpusError, match=r"line 3: audio file .*evaluation/no such clip\.wav"):
        ClothoClipCorpus(root)


def test_missing_column_names_the_csv_and_header_line(tmp_path, clotho_root):
    header = "file_name," + ",".join(CAPTION_COLUMNS[:-1])
    root = make_layout(tmp_path, clotho_root, f"{header}\n\"{KNOWN_CLIP}.wav\",a,b,c,d\n")
    with pytest.raises(CorpusError, match=r"evaluation\.csv, line 1: missing column.*caption_5"):
        ClothoClipCorpus(root)


def test_duplicate_clip_id_is_refused(tmp_path, clotho_root):
    row = caption_line(f"{KNOWN_CLIP}.wav", list("abcde"))
    root = make_layout(tmp_path, clotho_root, f"{HEADER}\n{row}\n{row}\n")
    with pytest.raises(CorpusError, match=r"line 3: clip id 'Flipping Pages' already used.*line 2"):
        ClothoClipCorpus(root)


def test_folder_without_csv_names_root_and_expected_files(tmp_path):
    with pytest.raises(CorpusError, match=r"clotho_captions_development\.csv") as error:
        ClothoClipCorpus(tmp_path)
    assert str(tmp_path.resolve()) in str(error.value)
    assert EVALUATION_CSV in str(error.value)
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        ClothoClipCorpus(tmp_path / "no_such_folder")


def test_unknown_clip_and_bad_arguments_are_refused(corpus, clotho_root):
    with pytest.raises(KeyError, match="no clip 'nope'"):
        corpus.load("nope")
    with pytest.raises(ValueError, match="splits"):
        ClothoClipCorpus(clotho_root, splits=("training",))
    with pytest.raises(ValueError, match="sample_rate"):
        ClothoClipCorpus(clotho_root, sample_rate=0)
