"""The embedded synthetic corpora: procedural clips with captions, procedural walking tours."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re

import numpy as np
import pytest

from amr_lib.corpora.base import CorpusError, split_by_recording
from amr_lib.corpora.synthetic import SyntheticBackgroundCorpus, SyntheticClipCorpus
from amr_lib.corpora.synthetic.captions import (
    COMMON_SLOTS,
    NUMBER_WORDS,
    TIMES_WORDS,
    caption_words,
    slot_names,
    usable_templates,
)
from amr_lib.corpora.synthetic.dsp import one_pole
from amr_lib.corpora.synthetic.params import sample_params
from amr_lib.corpora.synthetic.sounds import SOUND_CLASSES, spec_of
from amr_lib.simulation.trimming import trim_active_span

SR = 16_000
CLOTHO_MOMENT_MEAN_S = 19.6       # released test event lengths (1..30 s)
NEAR_WORDS = ("loud", "nearby", "close", "close by", "up close", "right next to the microphone")
FAR_WORDS = ("distant", "faint", "far-off", "far away", "in the distance", "from far off")
HIGH_WORDS, LOW_WORDS = ("high", "high-pitched", "shrill"), ("low", "low-pitched", "deep")
FAST_WORDS = ("quickly", "rapidly", "fast", "rapid", "quick")
SLOW_WORDS = ("slowly", "slow", "leisurely", "lazy")
COUNT_CLASSES = [name for name in SOUND_CLASSES if spec_of(name).count]
SAMPLE_IDS = ["dog_bark-0001", "siren-0002", "rain-0003", "door_knock-0000",
              "speech_babble-0001", "church_bell-0003"]


@pytest.fixture(scope="module")
def corpus() -> SyntheticClipCorpus:
    return SyntheticClipCorpus(seed=0, clips_per_class=4)


@pytest.fixture(scope="module")
def sampled_audio(corpus: SyntheticClipCorpus) -> dict[str, np.ndarray]:
    """Every clip of the 4-per-class corpus (about 150 clips)."""
    return {info.clip_id: corpus.load(info.clip_id) for info in corpus}


@pytest.fixture(scope="module")
def walks() -> SyntheticBackgroundCorpus:
    return SyntheticBackgroundCorpus(seed=0, num_recordings=10, recording_s=300.0)


@pytest.fixture(scope="module")
def walk(walks: SyntheticBackgroundCorpus) -> np.ndarray:
    return walks.load("synthetic_walk_03")


def mentions(text: str, words: tuple[str, ...]) -> list[str]:
    """The whole words or phrases of ``words`` found in ``text`` (hyphenated words count as
    one word, so "high" is not found in "high-pitched")."""
    lowered = text.lower()
    return [w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", lowered)]


def knock_bouts(audio: np.ndarray) -> list[int]:
    """Knocks per bout, from the audio alone: rising edges of a 3 ms envelope above a
    quarter of its peak, at least 0.12 s apart (knocks in a bout are 0.18 s or more apart),
    grouped into bouts by pauses longer than 0.9 s."""
    hop = SR // 200                                                   # 5 ms frames
    envelope = one_pole(np.abs(audio.astype(np.float64)), 0.003, SR)
    frames = envelope[: len(envelope) // hop * hop].reshape(-1, hop).max(axis=1)
    loud = frames > 0.25 * frames.max()
    onsets_s: list[float] = []
    for edge in (np.flatnonzero(loud[1:] & ~loud[:-1]) + 1) * hop / SR:
        if not onsets_s or edge - onsets_s[-1] >= 0.12:
            onsets_s.append(float(edge))
    pauses = np.flatnonzero(np.diff(onsets_s) > 0.9) + 1
    return [len(bout) for bout in np.split(np.array(onsets_s), pauses)]


def test_classes_and_ids(corpus: SyntheticClipCorpus) -> None:
    assert len(set(SOUND_CLASSES)) == len(SOUND_CLASSES) >= 30
    ids = [info.clip_id for info in corpus]
    assert len(ids) == len(set(ids)) == 4 * len(SOUND_CLASSES)
    assert all(re.fullmatch(r"[a-z_]+-\d{4}", clip_id) for clip_id in ids)
    assert {clip_id.rsplit("-", 1)[0] for clip_id in ids} == set(SOUND_CLASSES)
    assert corpus.parameters("dog_bark-0003").sound == "dog_bark"


def test_same_seed_gives_identical_audio_and_captions() -> None:
    first, second = SyntheticClipCorpus(seed=0), SyntheticClipCorpus(seed=0)
    assert [c.captions for c in first] == [c.captions for c in second]
    for clip_id in SAMPLE_IDS:
        a, b = first.load(clip_id), second.load(clip_id)
        assert a.dtype == np.float32 and a.tobytes() == b.tobytes()


def test_different_seed_gives_different_clips() -> None:
    first, other = SyntheticClipCorpus(seed=0), SyntheticClipCorpus(seed=1)
    different = sum(a.captions != b.captions for a, b in zip(first, other, strict=True))
    assert different > 0.9 * len(first)
    for clip_id in SAMPLE_IDS[:3]:
        a, b = first.load(clip_id), other.load(clip_id)
        assert len(a) != len(b) or not np.array_equal(a, b)


def test_audio_does_not_depend_on_load_order() -> None:
    forward, backward = SyntheticClipCorpus(seed=5), SyntheticClipCorpus(seed=5)
    ahead = {clip_id: forward.load(clip_id) for clip_id in SAMPLE_IDS}
    behind = {clip_id: backward.load(clip_id) for clip_id in reversed(SAMPLE_IDS)}
    assert all(np.array_equal(ahead[i], behind[i]) for i in SAMPLE_IDS)
    assert np.array_equal(forward.load(SAMPLE_IDS[0]), ahead[SAMPLE_IDS[0]])


def test_a_clip_depends_only_on_seed_and_id() -> None:
    small, large = SyntheticClipCorpus(seed=7, clips_per_class=3), SyntheticClipCorpus(seed=7)
    for clip_id in ("siren-0002", "footsteps-0000"):
        assert small.parameters(clip_id) == large.parameters(clip_id)
        assert np.array_equal(small.load(clip_id), large.load(clip_id))
    captions = {c.clip_id: c.captions for c in large}
    assert all(captions[c.clip_id] == c.captions for c in small)


def test_five_distinct_captions_of_6_to_20_words() -> None:
    for info in SyntheticClipCorpus(seed=2, clips_per_class=20):
        assert len(info.captions) == len(set(info.captions)) == 5, info
        for caption in info.captions:
            assert 6 <= len(caption.split()) <= 20, caption
            assert caption[0].isupper() and caption.endswith(".")


def test_every_template_fits_6_to_20_words_for_every_parameter_combination() -> None:
    """Shortest and longest synonyms in every slot, for every variant, distance, pitch, speed,
    count and length class: no template ever needs to be rejected for its length."""
    for sound in SOUND_CLASSES:
        spec = spec_of(sound)
        base = sample_params(spec, np.random.default_rng(0))
        counts = range(spec.count[0], spec.count[1] + 1) if spec.count else [0]
        for variant, near, pitch, speed, count, active in itertools.product(
                spec.variants, (True, False), ("low", "high") if spec.pitch else ("",),
                ("slow", "fast") if spec.speed else ("",), counts, (3, 12, 25)):
            params = dataclasses.replace(base, variant=variant, near=near, pitch=pitch,
                                         speed=speed, count=count, active_s=active)
            slots = {**COMMON_SLOTS, **caption_words(sound).slots}
            templates = usable_templates(params)
            assert len(templates) >= 3, (sound, params)
            for template in templates:
                for pick in (min, max):
                    words = {name: pick(slots[name](params), key=lambda w: len(w.split()))
                             for name in slot_names(template)}
                    assert 6 <= len(template.format(**words).split()) <= 20, (sound, template)


@pytest.mark.parametrize("sound", COUNT_CLASSES)
def test_caption_counts_match_the_parameters(sound: str) -> None:
    """Every count a caption states is the clip's count, and some caption states it."""
    corpus = SyntheticClipCorpus(seed=4, clips_per_class=20)
    spoken = {w: k for k, w in enumerate(NUMBER_WORDS)} | {w: k for k, w in
                                                            enumerate(TIMES_WORDS)}
    for k in range(20):
        clip_id = f"{sound}-{k:04d}"
        count = corpus.parameters(clip_id).count
        low, high = spec_of(sound).count
        assert low <= count <= high
        stated = [spoken[w] for caption in next(c for c in corpus if c.clip_id == clip_id
                                               ).captions
                  for w in mentions(caption, tuple(spoken))]
        assert stated and set(stated) == {count}, (clip_id, count, stated)


def test_knock_count_in_captions_is_heard_in_the_audio() -> None:
    corpus = SyntheticClipCorpus(seed=0, clips_per_class=12)
    checked = 0
    for info in corpus.clips():
        params = corpus.parameters(info.clip_id)
        if params.sound != "door_knock" or params.active_s < 12:   # long: several bouts
            continue
        bouts = knock_bouts(corpus.load(info.clip_id))
        assert len(bouts) >= 2 and set(bouts) == {params.count}, (info.clip_id, bouts)
        assert any(mentions(c, (NUMBER_WORDS[params.count], TIMES_WORDS[params.count]))
                   for c in info.captions)
        checked += 1
    assert checked >= 5


def test_distance_pitch_and_speed_words_match_the_parameters() -> None:
    corpus = SyntheticClipCorpus(seed=3, clips_per_class=20)
    for info in corpus:
        params, spec = corpus.parameters(info.clip_id), spec_of(info.clip_id.rsplit("-", 1)[0])
        for caption in info.captions:
            wrong = mentions(caption, FAR_WORDS if params.near else NEAR_WORDS)
            if spec.pitch:
                wrong += mentions(caption, LOW_WORDS if params.high else HIGH_WORDS)
            if spec.speed:
                wrong += mentions(caption, SLOW_WORDS if params.fast else FAST_WORDS)
            assert not wrong, (info.clip_id, params, caption)
    sirens = [(corpus.parameters(c.clip_id).variant, " ".join(c.captions)) for c in corpus
              if c.clip_id.startswith("siren-")]
    assert {variant for variant, _ in sirens} == {"wail", "yelp"}
    slow_sweep, fast_sweep = ("wail", "rises and falls"), ("yelp", "whoop", "warble")
    for variant, text in sirens:
        said = fast_sweep if variant == "yelp" else slow_sweep
        never = slow_sweep if variant == "yelp" else fast_sweep
        assert any(w in text for w in said) and not any(w in text for w in never), text


def test_trimmed_durations_follow_clotho_moment(corpus: SyntheticClipCorpus,
                                                sampled_audio: dict[str, np.ndarray]) -> None:
    spans = {i: trim_active_span(a, SR) for i, a in sampled_audio.items()}
    lengths = np.array([end - start for start, end in spans.values()])
    assert abs(lengths.mean() - CLOTHO_MOMENT_MEAN_S) <= 1.5
    assert np.mean((lengths >= 8) & (lengths <= 30)) >= 0.9
    assert lengths.min() >= 1 and 15 <= np.median(lengths) <= 23
    exact = [spans[i] == (p.lead_s, p.lead_s + p.active_s)
             for i, p in ((i, corpus.parameters(i)) for i in spans)]
    assert np.mean(exact) >= 0.95                   # the quiet lead-in and tail get trimmed
    assert sum(corpus.parameters(i).lead_s > 0 for i in spans) >= 20


def test_audio_is_finite_mono_float32_within_full_scale(
        sampled_audio: dict[str, np.ndarray]) -> None:
    for clip_id, audio in sampled_audio.items():
        assert audio.ndim == 1 and audio.dtype == np.float32, clip_id
        assert SR <= len(audio) <= 30 * SR, clip_id
        assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0, clip_id
        assert np.sqrt(np.mean(np.square(audio, dtype=np.float64))) > 1e-3, clip_id


def test_distance_sets_the_level(corpus: SyntheticClipCorpus,
                                 sampled_audio: dict[str, np.ndarray]) -> None:
    peaks = {near: [float(np.abs(a).max()) for i, a in sampled_audio.items()
                    if corpus.parameters(i).near == near] for near in (True, False)}
    assert min(peaks[True]) > max(peaks[False])


def test_other_sample_rates_are_resampled() -> None:
    native = SyntheticClipCorpus(seed=0, clips_per_class=2)
    low = SyntheticClipCorpus(seed=0, clips_per_class=2, sample_rate=8_000)
    for clip_id in ("siren-0001", "door_knock-0000"):
        a, b = native.load(clip_id), low.load(clip_id)
        assert b.dtype == np.float32 and abs(len(b) - len(a) / 2) <= 1
        assert np.abs(b).max() <= 1.0 and np.isfinite(b).all()
    assert low.fingerprint() != native.fingerprint()


def test_splits_are_70_15_15_within_each_class() -> None:
    corpus = SyntheticClipCorpus(seed=0, clips_per_class=40)
    for sound in SOUND_CLASSES:
        splits = [c.split for c in corpus if c.clip_id.startswith(f"{sound}-")]
        assert (splits.count("train"), splits.count("valid"), splits.count("test")) == (28, 6, 6)
    again = SyntheticClipCorpus(seed=0, clips_per_class=40)
    reseeded = SyntheticClipCorpus(seed=9, clips_per_class=40)
    assert [c.split for c in corpus] == [c.split for c in again]
    assert [c.split for c in corpus] != [c.split for c in reseeded]
    assert len(corpus.clips("valid")) == 6 * len(SOUND_CLASSES)


def test_fingerprint_is_json_and_tracks_the_arguments() -> None:
    base = SyntheticClipCorpus(seed=0, clips_per_class=5).fingerprint()
    assert json.loads(json.dumps(base)) == base
    assert {"name", "version", "seed", "clips_per_class", "sample_rate"} <= set(base)
    assert base != SyntheticClipCorpus(seed=1, clips_per_class=5).fingerprint()
    assert base != SyntheticClipCorpus(seed=0, clips_per_class=6).fingerprint()
    walk = SyntheticBackgroundCorpus(num_recordings=2, recording_s=60.0).fingerprint()
    assert json.loads(json.dumps(walk)) == walk and walk["recording_s"] == 60.0


def test_unknown_ids_raise_corpus_errors_naming_them() -> None:
    corpus = SyntheticClipCorpus(seed=0, clips_per_class=3)
    for bad in ("dog_bark-0003", "unicorn-0000", "dog_bark-3"):
        with pytest.raises(CorpusError, match=rf"'synthetic'.*'{re.escape(bad)}'"):
            corpus.load(bad)
    walks = SyntheticBackgroundCorpus(num_recordings=2, recording_s=60.0)
    with pytest.raises(CorpusError, match=r"synthetic_walks.*synthetic_walk_07"):
        walks.load("synthetic_walk_07")


@pytest.mark.parametrize("make", [
    lambda: SyntheticClipCorpus(clips_per_class=0),
    lambda: SyntheticClipCorpus(clips_per_class=-3),
    lambda: SyntheticClipCorpus(sample_rate=0),
    lambda: SyntheticClipCorpus(seed=-1),
    lambda: SyntheticBackgroundCorpus(num_recordings=0),
    lambda: SyntheticBackgroundCorpus(recording_s=59.0),
    lambda: SyntheticBackgroundCorpus(recording_s=float("nan")),
    lambda: SyntheticBackgroundCorpus(sample_rate=-16_000),
])
def test_invalid_arguments_raise_value_errors(make) -> None:
    with pytest.raises(ValueError, match="must be"):
        make()


def test_background_recordings_and_splits(walks: SyntheticBackgroundCorpus) -> None:
    infos = walks.recordings()
    assert [r.recording_id for r in infos] == [f"synthetic_walk_{i:02d}" for i in range(10)]
    assert all(r.duration_s == 300.0 for r in infos)
    splits = [r.split for r in infos]
    assert (splits.count("train"), splits.count("valid"), splits.count("test")) == (7, 1, 2)
    assert {r.recording_id: r.split for r in infos} == split_by_recording(
        [r.recording_id for r in infos], 0)


def test_background_is_long_valid_audio(walk: np.ndarray) -> None:
    assert walk.dtype == np.float32 and walk.shape == (300 * SR,)
    assert np.isfinite(walk).all() and 0.05 < np.abs(walk).max() <= 1.0


def test_background_range_equals_slice_of_whole(walks: SyntheticBackgroundCorpus,
                                                walk: np.ndarray) -> None:
    part = walks.load("synthetic_walk_03", 123.4, 60.0)
    start = round(123.4 * SR)
    assert np.array_equal(part, walk[start: start + 60 * SR])
    assert np.array_equal(walks.load("synthetic_walk_03", 240.0, 60.0), walk[240 * SR:])
    fresh = SyntheticBackgroundCorpus(seed=0, num_recordings=10, recording_s=300.0)
    assert np.array_equal(fresh.load("synthetic_walk_03", 17.0, 5.0), walk[17 * SR: 22 * SR])


def test_background_ranges_past_the_end_are_refused(walks: SyntheticBackgroundCorpus) -> None:
    for start, duration in ((290.0, 20.0), (-1.0, 5.0), (300.0, None), (10.0, -2.0)):
        with pytest.raises(CorpusError, match="synthetic_walk_03"):
            walks.load("synthetic_walk_03", start, duration)


def test_background_depends_on_the_seed() -> None:
    a = SyntheticBackgroundCorpus(seed=0, num_recordings=1, recording_s=60.0)
    b = SyntheticBackgroundCorpus(seed=0, num_recordings=1, recording_s=60.0)
    c = SyntheticBackgroundCorpus(seed=1, num_recordings=1, recording_s=60.0)
    first = a.load("synthetic_walk_00")
    assert first.tobytes() == b.load("synthetic_walk_00").tobytes()
    assert not np.array_equal(first, c.load("synthetic_walk_00"))


def test_background_level_drifts_slowly(walk: np.ndarray) -> None:
    """Scenes change the 10 s level by several dB, but one second to the next stays close."""
    second_power = np.mean(walk.astype(np.float64).reshape(-1, SR) ** 2, axis=1)   # (300,)
    level_10s = 10 * np.log10(second_power.reshape(-1, 10).mean(axis=1))          # (30,)
    level_1s = 10 * np.log10(second_power)
    assert level_10s.max() - level_10s.min() >= 4.0
    assert np.median(np.abs(np.diff(level_10s))) <= 3.0
    assert np.percentile(np.abs(np.diff(level_1s)), 90) <= 8.0


def test_background_plans_vary_scenes_and_hide_foreground_like_sounds(
        walks: SyntheticBackgroundCorpus) -> None:
    plans = [walks.plan(r.recording_id) for r in walks]
    assert all(len({v.scene for v in plan.visits}) >= 2 for plan in plans)
    distractors = [d for plan in plans for d in plan.distractors]
    assert len(distractors) >= 10
    assert {d.params.sound for d in distractors} <= set(SOUND_CLASSES)
    assert all(not d.params.near and d.level_db < 0 for d in distractors)
    assert len({d.params.sound for d in distractors}) >= 5
