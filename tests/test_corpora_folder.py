"""Folder background corpus on the real urban ambience recordings, and split_by_recording."""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from amr_lib.audio import AudioError, resample
from amr_lib.corpora.base import SPLITS, CorpusError, split_by_recording
from amr_lib.corpora.folder import FolderBackgroundCorpus

NATIVE_RATE = 16_000            # Hz, the urban ambience files' rate
URBAN_SPLIT_SIZES = {"train": 17, "valid": 2, "test": 5}   # 24 recordings at 7:1:2
RESAMPLING_EDGE = 200           # samples at each end of a resampled range allowed to differ


@pytest.fixture(scope="module")
def urban_folder(data_root: Path) -> Path:
    return data_root / "urban_ambience" / "audio"


@pytest.fixture(scope="module")
def corpus(urban_folder: Path) -> FolderBackgroundCorpus:
    return FolderBackgroundCorpus(urban_folder)


def write_tone(path: Path, seconds: float, rate: int, amplitudes: tuple[float, ...]) -> None:
    """A 440 Hz tone with one channel per amplitude (32-bit float WAV, 16-bit FLAC)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tone = np.sin(2 * np.pi * 440.0 * np.arange(round(seconds * rate)) / rate)
    sf.write(str(path), np.stack([a * tone for a in amplitudes], axis=1), rate,
             subtype="PCM_16" if path.suffix.lower() == ".flac" else "FLOAT")


def test_urban_ambience_has_24_recordings_split_by_recording(corpus, urban_folder):
    stems = {path.stem for path in urban_folder.glob("*.flac")}
    assert len(corpus) == 24 and {r.recording_id for r in corpus} == stems
    assert {split: len(corpus.recordings(split)) for split in SPLITS} == URBAN_SPLIT_SIZES
    expected = split_by_recording(sorted(stems), seed=0)
    assert {r.recording_id: r.split for r in corpus} == expected
    ids = [r.recording_id for r in corpus]
    assert ids == sorted(ids, key=lambda rid: f"{rid}.flac")


def test_durations_come_from_the_headers(corpus):
    for recording in corpus:
        frames = sf.info(str(corpus.audio_path(recording.recording_id))).frames
        assert recording.duration_s == frames / NATIVE_RATE
        assert 59.8 < recording.duration_s < 60.0


def test_seed_changes_the_split_but_not_its_sizes(urban_folder, corpus):
    other = FolderBackgroundCorpus(urban_folder, seed=1)
    assert {r.recording_id: r.split for r in other} != {r.recording_id: r.split for r in corpus}
    assert {split: len(other.recordings(split)) for split in SPLITS} == URBAN_SPLIT_SIZES
    assert other.fingerprint() != corpus.fingerprint()


def test_range_load_equals_the_slice_of_the_whole_recording(corpus):
    recording_id = corpus.recordings("test")[0].recording_id
    whole = corpus.load(recording_id)
    assert whole.dtype == np.float32 and whole.ndim == 1
    assert whole.size == round(corpus.recordings("test")[0].duration_s * NATIVE_RATE)
    part = corpus.load(recording_id, 10.0, 5.0)
    np.testing.assert_array_equal(part, whole[10 * NATIVE_RATE:15 * NATIVE_RATE])
    tail = corpus.load(recording_id, 55.0)
    np.testing.assert_array_equal(tail, whole[55 * NATIVE_RATE:])


def test_range_load_resamples_to_the_corpus_rate(urban_folder, corpus):
    low_rate = 8_000
    low = FolderBackgroundCorpus(urban_folder, sample_rate=low_rate)
    recording_id = corpus.recordings()[0].recording_id
    part = low.load(recording_id, 10.0, 5.0)
    assert part.dtype == np.float32 and part.size == 5 * low_rate
    whole = resample(corpus.load(recording_id), NATIVE_RATE, low_rate)
    reference = whole[10 * low_rate:15 * low_rate]
    inner = slice(RESAMPLING_EDGE, -RESAMPLING_EDGE)
    np.testing.assert_allclose(part[inner], reference[inner], atol=1e-4)


def test_stereo_22k_file_loads_as_mono_at_the_corpus_rate(tmp_path):
    write_tone(tmp_path / "city" / "stereo.wav", 3.0, 22_050, (0.5, 0.3))
    corpus = FolderBackgroundCorpus(tmp_path)
    [recording] = corpus.recordings()
    assert recording.recording_id == "city__stereo" and recording.duration_s == 3.0
    audio = corpus.load("city__stereo")
    assert audio.ndim == 1 and audio.dtype == np.float32
    assert abs(audio.size - 3 * NATIVE_RATE) <= 1
    rms = float(np.sqrt(np.mean(audio[1000:-1000] ** 2)))
    assert rms == pytest.approx(0.4 / np.sqrt(2), rel=1e-3)   # mean of 0.5 and 0.3 amplitude
    part = corpus.load("city__stereo", 1.0, 0.5)
    assert abs(part.size - NATIVE_RATE // 2) <= 1


@pytest.mark.parametrize(("start_s", "duration_s"), [(59.0, 5.0), (61.0, None), (-1.0, 2.0),
                                                     (10.0, 0.0)])
def test_ranges_outside_the_recording_name_the_file(corpus, start_s, duration_s):
    recording_id = corpus.recordings()[0].recording_id
    with pytest.raises(CorpusError, match=rf"{recording_id}\.flac: cannot read"):
        corpus.load(recording_id, start_s, duration_s)


def test_range_ending_exactly_at_the_end_is_allowed(corpus):
    recording = corpus.recordings()[0]
    audio = corpus.load(recording.recording_id, 50.0, recording.duration_s - 50.0)
    assert audio.size == round((recording.duration_s - 50.0) * NATIVE_RATE)


def test_empty_or_missing_folder_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("no audio here")
    with pytest.raises(CorpusError, match=r"no audio files \(looked for \.wav, \.flac, \.ogg"):
        FolderBackgroundCorpus(tmp_path)
    with pytest.raises(CorpusError, match=re.escape(str(tmp_path))):
        FolderBackgroundCorpus(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing_folder"):
        FolderBackgroundCorpus(tmp_path / "missing_folder")


def test_unreadable_file_raises_audio_error_naming_it(tmp_path):
    write_tone(tmp_path / "good.wav", 1.0, NATIVE_RATE, (0.5,))
    (tmp_path / "broken.WAV").write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match=r"broken\.WAV"):
        FolderBackgroundCorpus(tmp_path)


def test_hidden_files_are_skipped_and_extensions_filter(tmp_path):
    write_tone(tmp_path / "a.flac", 1.0, NATIVE_RATE, (0.5,))
    write_tone(tmp_path / "b.wav", 2.0, NATIVE_RATE, (0.5,))
    (tmp_path / ".a.partial.wav").write_bytes(b"half-written")
    assert [r.recording_id for r in FolderBackgroundCorpus(tmp_path)] == ["a", "b"]
    only_flac = FolderBackgroundCorpus(tmp_path, extensions=("FLAC",))
    assert [(r.recording_id, r.duration_s) for r in only_flac] == [("a", 1.0)]


def test_colliding_ids_are_refused(tmp_path):
    write_tone(tmp_path / "tour" / "day.wav", 1.0, NATIVE_RATE, (0.5,))
    write_tone(tmp_path / "tour__day.flac", 1.0, NATIVE_RATE, (0.5,))
    with pytest.raises(CorpusError, match="recording id 'tour__day'"):
        FolderBackgroundCorpus(tmp_path)


def test_fingerprint_lists_files_and_changes_with_content(tmp_path):
    # two sibling folders, so neither corpus lists the other's file
    original, elsewhere = tmp_path / "data", tmp_path / "mounted_again"
    write_tone(original / "walk.wav", 1.0, NATIVE_RATE, (0.5,))
    before = FolderBackgroundCorpus(original, seed=3).fingerprint()
    assert json.loads(json.dumps(before)) == before
    assert before["seed"] == 3 and "root" not in before
    assert [entry["path"] for entry in before["files"]] == ["walk.wav"]
    # the same bytes elsewhere, written later (a data folder mounted again): the same key
    elsewhere.mkdir()
    (elsewhere / "walk.wav").write_bytes((original / "walk.wav").read_bytes())
    os.utime(elsewhere / "walk.wav", ns=(1, 1))
    assert FolderBackgroundCorpus(elsewhere, seed=3).fingerprint() == before
    write_tone(original / "walk.wav", 2.0, NATIVE_RATE, (0.5,))
    assert FolderBackgroundCorpus(original, seed=3).fingerprint() != before
    # same size, one sample changed
    audio, rate = sf.read(str(elsewhere / "walk.wav"), dtype="float32")
    audio[0] += 0.25
    sf.write(str(elsewhere / "walk.wav"), audio, rate, subtype="FLOAT")
    changed = FolderBackgroundCorpus(elsewhere, seed=3).fingerprint()
    assert changed["files"][0]["size"] == before["files"][0]["size"]
    assert changed != before


def test_unknown_recording_is_refused(corpus):
    with pytest.raises(KeyError, match="no recording 'nope'"):
        corpus.load("nope")


def test_split_by_recording_is_a_deterministic_partition():
    ids = [f"tour_{i:02d}" for i in range(24)]
    first = split_by_recording(ids, seed=7)
    assert sorted(first) == ids and set(first.values()) == set(SPLITS)
    assert {s: list(first.values()).count(s) for s in SPLITS} == URBAN_SPLIT_SIZES
    shuffled = ids[:]
    random.Random(0).shuffle(shuffled)
    assert split_by_recording(shuffled, seed=7) == first
    assert split_by_recording(ids, seed=8) != first
    small = split_by_recording(ids[:10], seed=0)
    assert sorted(small.values()) == ["test"] * 2 + ["train"] * 7 + ["valid"]

