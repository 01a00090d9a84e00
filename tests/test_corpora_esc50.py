"""ESC-50 clip corpus: real folds 1-4, generated captions, fold split, broken copies."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from amr_lib.corpora.base import CAPTIONS_PER_CLIP, CorpusError
from amr_lib.corpora.esc50 import (
    CAPTION_PHRASINGS,
    CATEGORIES,
    ESC50ClipCorpus,
    captions_for,
    phrasings_digest,
)

META_HEADER = "filename,fold,target,category,esc10,src_file,take"
DOG_CLIP, BIRD_CLIP = "1-100032-A-0.flac", "1-100038-A-14.flac"
EXPECTED_SPLITS = {"1": "train", "2": "train", "3": "valid", "4": "test"}
# Words at least one of which every phrasing of the class must use.
CLASS_WORDS = {"dog": ("dog", "bark"), "cat": ("cat", "kitten"), "rain": ("rain",),
               "siren": ("siren",), "clock_tick": ("tick",), "sea_waves": ("wave", "surf"),
               "car_horn": ("horn",), "keyboard_typing": ("typ", "keyboard")}
CLIP_SAMPLES_16K = 5 * 16_000   # a 5 s clip at 16 kHz (the files carry one extra sample)


@pytest.fixture(scope="module")
def esc50_root(data_root: Path) -> Path:
    return data_root / "esc50"


@pytest.fixture(scope="module")
def corpus(esc50_root: Path) -> ESC50ClipCorpus:
    return ESC50ClipCorpus(esc50_root)


@pytest.fixture(scope="module")
def meta_rows(esc50_root: Path) -> list[dict[str, str]]:
    with (esc50_root / "meta" / "esc50.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def make_copy(tmp_path: Path, esc50_root: Path, rows: list[str],
              audio: tuple[str, ...] = (DOG_CLIP, BIRD_CLIP)) -> Path:
    """An ESC-50 layout in ``tmp_path``: a metadata CSV with ``rows`` and linked audio."""
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "esc50.csv").write_text("\n".join([META_HEADER, *rows]) + "\n")
    (tmp_path / "audio").mkdir()
    for name in audio:
        (tmp_path / "audio" / name).symlink_to(esc50_root / "audio" / name)
    return tmp_path


def test_phrasing_table_covers_50_classes_with_natural_phrasings():
    assert len(CATEGORIES) == 50 and CATEGORIES[0] == "dog" and CATEGORIES[-1] == "hand_saw"
    everything = [text for texts in CAPTION_PHRASINGS.values() for text in texts]
    assert len(everything) == len(set(everything)), "a phrasing is shared by two classes"
    for category, texts in CAPTION_PHRASINGS.items():
        assert len(set(texts)) == len(texts) >= CAPTIONS_PER_CLIP, category
        for text in texts:
            assert 3 <= len(text.split()) <= 20 and text == text.strip(), (category, text)
    for category, words in CLASS_WORDS.items():
        for text in CAPTION_PHRASINGS[category]:
            assert any(word in text for word in words), (category, text)


def test_all_1600_clips_split_by_fold(corpus, meta_rows):
    assert len(corpus) == len(meta_rows) == 1600
    sizes = {split: len(corpus.clips(split)) for split in ("train", "valid", "test")}
    assert sizes == {"train": 800, "valid": 400, "test": 400}
    fold_of = {Path(row["filename"]).stem: row["fold"] for row in meta_rows}
    assert all(clip.split == EXPECTED_SPLITS[fold_of[clip.clip_id]] for clip in corpus)


def test_no_source_recording_of_a_class_spans_two_splits(corpus, meta_rows):
    """ESC-50 keeps a source's clips of one class in one fold; two Freesound sources lend clips
    to two classes each, in different folds (a known quirk, not a leak within a class)."""
    split_of = {clip.clip_id: clip.split for clip in corpus}
    per_source_class, per_source = defaultdict(set), defaultdict(set)
    for row in meta_rows:
        split = split_of[Path(row["filename"]).stem]
        per_source_class[row["src_file"], row["category"]].add(split)
        per_source[row["src_file"]].add(split)
    assert all(len(splits) == 1 for splits in per_source_class.values())
    assert {source for source, splits in per_source.items() if len(splits) > 1} == {
        "131943", "134049"}


def test_categories_match_the_csv_and_target_order(corpus, meta_rows):
    for row in meta_rows:
        assert corpus.category(Path(row["filename"]).stem) == row["category"]
        assert CATEGORIES[int(row["target"])] == row["category"]
    assert Counter(corpus.category(clip.clip_id) for clip in corpus) == Counter(
        {category: 32 for category in CATEGORIES})
    with pytest.raises(KeyError, match="no clip"):
        corpus.category("0-missing")


def test_captions_are_five_distinct_phrasings_of_the_class(corpus):
    for clip in corpus:
        category = corpus.category(clip.clip_id)
        assert len(set(clip.captions)) == CAPTIONS_PER_CLIP
        assert set(clip.captions) <= set(CAPTION_PHRASINGS[category])
    dog_clips = [clip for clip in corpus if corpus.category(clip.clip_id) == "dog"]
    assert all("dog" in text or "bark" in text for c in dog_clips for text in c.captions)
    assert len({clip.captions for clip in dog_clips}) > 10, "clips of a class share captions"
    assert {text for clip in dog_clips for text in clip.captions} == set(
        CAPTION_PHRASINGS["dog"])


def test_captions_are_deterministic_across_processes(esc50_root, corpus):
    again = ESC50ClipCorpus(esc50_root)
    assert [c.captions for c in again] == [c.captions for c in corpus]
    script = ("import json; from amr_lib.corpora.esc50 import captions_for; "
              f"print(json.dumps(captions_for({DOG_CLIP!r}, 'dog')))")
    for hash_seed in ("1", "2"):
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                check=True, env={**os.environ, "PYTHONHASHSEED": hash_seed})
        assert tuple(json.loads(result.stdout)) == captions_for(DOG_CLIP, "dog")
    assert corpus.clips()[0].captions == captions_for(DOG_CLIP, "dog")


def test_load_gives_five_seconds_at_the_corpus_rate(corpus, esc50_root):
    clip_id = Path(BIRD_CLIP).stem
    audio = corpus.load(clip_id)
    assert audio.dtype == np.float32 and audio.ndim == 1 and np.isfinite(audio).all()
    assert abs(audio.size - CLIP_SAMPLES_16K) <= 1
    np.testing.assert_array_equal(audio, sf.read(str(corpus.audio_path(clip_id)),
                                                 dtype="float32")[0])
    half_rate = ESC50ClipCorpus(esc50_root, sample_rate=8_000).load(clip_id)
    assert abs(half_rate.size - CLIP_SAMPLES_16K // 2) <= 1


def test_fingerprint_is_json_and_names_the_content(corpus, esc50_root):
    fingerprint = corpus.fingerprint()
    assert json.loads(json.dumps(fingerprint)) == fingerprint
    assert "root" not in fingerprint
    assert fingerprint["phrasings"] == phrasings_digest()
    assert ESC50ClipCorpus(esc50_root, sample_rate=8_000).fingerprint() != fingerprint


def test_fold_five_counts_as_test(tmp_path, esc50_root):
    root = make_copy(tmp_path, esc50_root, [f"{DOG_CLIP},5,0,dog,True,100032,A",
                                            f"{BIRD_CLIP},3,14,chirping_birds,False,100038,A"])
    assert [clip.split for clip in ESC50ClipCorpus(root)] == ["test", "valid"]


def test_unknown_category_names_line_and_category(tmp_path, esc50_root):
    root = make_copy(tmp_path, esc50_root, [f"{DOG_CLIP},1,0,dog,True,100032,A",
                                            f"{BIRD_CLIP},1,14,kazoo,False,100038,A"])
    with pytest.raises(CorpusError, match=r"esc50\.csv, line 3: unknown .*'kazoo'"):
        ESC50ClipCorpus(root)


@pytest.mark.parametrize("fold", ["0", "6", "one", ""])
def test_bad_fold_names_the_line(tmp_path, esc50_root, fold):
    root = make_copy(tmp_path, esc50_root, [f"{DOG_CLIP},{fold},0,dog,True,100032,A"])
    with pytest.raises(CorpusError, match=r"esc50\.csv, line 2: fold must be"):
        ESC50ClipCorpus(root)


def test_missing_audio_names_file_and_line(tmp_path, esc50_root):
    root = make_copy(tmp_path, esc50_root, [f"{DOG_CLIP},1,0,dog,True,100032,A",
                                            f"{BIRD_CLIP},1,14,chirping_birds,False,100038,A"],
                     audio=(DOG_CLIP,))
    with pytest.raises(CorpusError, match=rf"line 3: audio file .*audio/{BIRD_CLIP}"):
        ESC50ClipCorpus(root)


def test_missing_meta_csv_or_column_is_named(tmp_path, esc50_root):
    with pytest.raises(CorpusError, match=r"meta/esc50\.csv"):
        ESC50ClipCorpus(tmp_path)
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "esc50.csv").write_text("filename,target,category\n")
    with pytest.raises(CorpusError, match=r"esc50\.csv, line 1: missing column.*fold"):
        ESC50ClipCorpus(tmp_path)


def test_fingerprint_follows_the_metadata_bytes_not_the_folder(tmp_path, esc50_root, meta_rows):
    row = ",".join(meta_rows[0].values())
    for name in "abc":
        (tmp_path / name).mkdir()
    first = ESC50ClipCorpus(make_copy(tmp_path / "a", esc50_root, [row],
                                      audio=(meta_rows[0]["filename"],))).fingerprint()
    again = make_copy(tmp_path / "b", esc50_root, [row], audio=(meta_rows[0]["filename"],))
    os.utime(again / "meta" / "esc50.csv", ns=(1, 1))
    assert ESC50ClipCorpus(again).fingerprint() == first
    # the same size, another take letter
    changed = make_copy(tmp_path / "c", esc50_root, [row[:-1] + "B"],
                        audio=(meta_rows[0]["filename"],))
    assert ESC50ClipCorpus(changed).fingerprint() != first
