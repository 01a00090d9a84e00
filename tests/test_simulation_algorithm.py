import math
from pathlib import Path

import numpy as np
import pytest
from fake_corpora import NoiseBackgrounds, ToneClips

from amr_lib.corpora.base import CorpusError
from amr_lib.simulation.algorithm import (
    BackgroundSegment,
    EventRecipe,
    MixtureRecipe,
    SimulationConfig,
    TrimmedClip,
    annotations_from_recipes,
    read_recipes,
    sample_recipes,
    segment_backgrounds,
    subsample_segments,
    trim_clips,
    write_recipes,
)
from amr_lib.simulation.trimming import trim_active_span
from amr_lib.storage.cache import ArtifactCache


@pytest.fixture
def cache(tmp_path):
    return ArtifactCache(tmp_path / "cache")


def test_segment_count_rule_and_names():
    corpus = NoiseBackgrounds({"walk": 65.5, "park": 60.0})
    segments = segment_backgrounds(corpus, "train", SimulationConfig())
    walk = [s for s in segments if s.recording_id == "walk"]
    assert len(walk) == 6 and [s.start_s for s in walk] == [0, 1, 2, 3, 4, 5]
    assert walk[0].vid == "walk_0.0_60.0" and walk[-1].vid == "walk_5.0_65.0"
    assert [s.vid for s in segments if s.recording_id == "park"] == ["park_0.0_60.0"]
    half_hop = segment_backgrounds(corpus, "train", SimulationConfig(hop_s=0.5))
    assert sum(s.recording_id == "walk" for s in half_hop) == 12  # floor(5.5 / 0.5) + 1


def test_backgrounds_shorter_than_a_segment_are_refused_by_name():
    corpus = NoiseBackgrounds({"street_a": 59.86, "street_b": 75.0})
    with pytest.raises(CorpusError, match=r"street_a \(59\.86 s\).*shorter segment_s"):
        segment_backgrounds(corpus, "train", SimulationConfig())
    assert len(segment_backgrounds(corpus, "train", SimulationConfig(segment_s=30.0))) == 76


def test_trimming_keeps_whole_audible_seconds(cache):
    corpus = ToneClips({"a": 4.0, "b": 2.5}, pad_s=2.0)
    clips = {c.clip_id: c for c in trim_clips(corpus, "train", SimulationConfig(), cache)}
    assert (clips["a"].start_s, clips["a"].end_s) == (2.0, 6.0)
    # 2 s pad + 2.5 s tone: the third tone second is shared with silence but still loud
    assert (clips["b"].start_s, clips["b"].end_s) == (2.0, 5.0)
    assert clips["a"].captions[0] == "caption 0 of a"


def test_trimming_threshold_follows_the_config():
    rate = 1_000
    loud = np.ones(3 * rate)
    quiet = 0.2 * np.ones(2 * rate)           # -14 dB: above a -20 dB cut, below a -5 dB one
    audio = np.concatenate([quiet, loud, quiet])
    assert trim_active_span(audio, rate, 5.0) == (2.0, 5.0)
    assert trim_active_span(audio, rate, 20.0) == (0.0, 7.0)


def test_clips_without_audible_seconds_warn_and_long_clips_are_refused(cache):
    short = ToneClips({"blip": 0.5, "ok": 3.0})
    with pytest.warns(UserWarning, match=r"1 clip\(s\) have no whole audible second.*blip"):
        clips = trim_clips(short, "train", SimulationConfig(), cache)
    assert [c.clip_id for c in clips] == ["ok"]
    long = ToneClips({"drone": 45.0})
    with pytest.raises(CorpusError, match="'drone' lasts 45 s after trimming"):
        trim_clips(long, "train", SimulationConfig(segment_s=30.0), cache)


def test_trimmed_spans_come_from_the_cache_the_second_time(cache):
    corpus = ToneClips({"a": 3.0})
    trim_clips(corpus, "train", SimulationConfig(), cache)
    corpus.load = None  # a second trim must not need the audio
    assert trim_clips(corpus, "train", SimulationConfig(), cache)[0].duration_s == 3.0


def constant_clips(count: int, length_s: float) -> list[TrimmedClip]:
    return [TrimmedClip(f"c{i}", tuple(f"cap {j} {i}" for j in range(5)), 1.0, 1.0 + length_s)
            for i in range(count)]


def test_events_follow_algorithm_1():
    segments = [BackgroundSegment("walk", float(i), 60.0) for i in range(300)]
    clips = constant_clips(50, 12.0)
    config = SimulationConfig()
    recipes = sample_recipes(segments, clips, config, seed=3)
    qids = [e.qid for r in recipes for e in r.events]
    assert len(qids) == len(set(qids)) and qids == sorted(qids)
    for recipe in recipes:
        ends = 0.0
        for event in recipe.events:
            assert event.onset_s > ends  # an exponential gap precedes every event
            ends = event.onset_s + event.duration_s
            assert event.clip_start_s == 1.0 and event.duration_s == 12.0
            assert -5 <= event.gain_db <= 5
            assert event.caption in {f"cap {j} {event.clip_id[1:]}" for j in range(5)}
        assert ends <= 60.0
        assert len({e.clip_id for e in recipe.events}) == len(recipe.events)
        assert -25 <= recipe.background_gain_db <= -15
    assert recipes == sample_recipes(segments, clips, config, seed=3)
    assert recipes != sample_recipes(segments, clips, config, seed=4)


def test_share_of_empty_segments_matches_the_exponential_gap():
    """With 20 s events and a mean gap of 30 s, a segment stays empty when the first gap
    exceeds 40 s: probability exp(-40/30) = 26.4 %; three events cannot fit."""
    segments = [BackgroundSegment("walk", float(i), 60.0) for i in range(20_000)]
    recipes = sample_recipes(segments, constant_clips(500, 20.0), SimulationConfig(), seed=0)
    counts = np.array([len(r.events) for r in recipes])
    assert abs(np.mean(counts == 0) - math.exp(-40 / 30)) < 0.01
    assert counts.max() == 2


def test_a_small_clip_list_is_walked_to_its_end():
    segments = [BackgroundSegment("walk", 0.0, 600.0)]
    recipes = sample_recipes(segments, constant_clips(3, 1.0), SimulationConfig(), seed=1)
    assert sorted(e.clip_id for e in recipes[0].events) == ["c0", "c1", "c2"]


def test_annotations_round_to_a_tenth_of_a_second():
    event = EventRecipe("00007", "c1", "a dog barks", 12.345, 0.0, 17.0, 1.0)
    recipe = MixtureRecipe("walk_3.0_63.0", "walk", 3.0, 60.0, -20.0, (event,))
    [annotation] = annotations_from_recipes([recipe], SimulationConfig())
    assert annotation.qid == "00007" and annotation.query == "a dog barks"
    assert annotation.vid == "walk_3.0_63.0" and annotation.duration == 60.0
    assert annotation.relevant_windows.tolist() == [[12.3, 29.3]]


def test_recipes_round_trip_and_bad_lines(tmp_path):
    segments = [BackgroundSegment("walk", float(i), 60.0) for i in range(20)]
    recipes = sample_recipes(segments, constant_clips(10, 15.0), SimulationConfig(), seed=2)
    path = tmp_path / "recipes.jsonl"
    write_recipes(path, recipes)
    assert read_recipes(path) == recipes
    lines = path.read_text().splitlines()
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([lines[0], '{"vid": "x"}']) + "\n")
    with pytest.raises(ValueError, match=r"broken\.jsonl:2: not a mixture recipe"):
        read_recipes(broken)
    late = MixtureRecipe("w", "w", 0.0, 60.0, -20.0,
                         (EventRecipe("1", "c", "q", 50.0, 0.0, 15.0, 0.0),))
    write_recipes(broken, [late])
    with pytest.raises(ValueError, match=r"broken\.jsonl:1: .*ends after its segment"):
        read_recipes(broken)


def test_subsampling_segments_is_deterministic_and_ordered():
    segments = [BackgroundSegment("walk", float(i), 60.0) for i in range(100)]
    chosen = subsample_segments(segments, 10, seed=5)
    assert len(chosen) == 10 and chosen == sorted(chosen, key=lambda s: s.start_s)
    assert chosen == subsample_segments(segments, 10, seed=5)
    assert subsample_segments(segments, None, seed=5) == segments
    with pytest.raises(ValueError, match="at least 1"):
        subsample_segments(segments, 0, seed=5)


def test_config_presets_and_validation():
    assert SimulationConfig.paper().sample_rate == 32_000
    assert SimulationConfig.real_sounds().segment_s == 30.0
    config = SimulationConfig(foreground_gain_db=[-3, 3])
    assert SimulationConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="foreground_gain_db"):
        SimulationConfig(foreground_gain_db=(5, -5))
    with pytest.raises(ValueError, match="positive"):
        SimulationConfig(mean_gap_s=0)


def test_one_instance_per_clip_places_exactly_what_algorithm_1_placed_before():
    # golden recipes written by the simulation before the multi-moment option (fe0266f):
    # 40 segments, 30 clips of 7 s, seed 5
    segments = [BackgroundSegment("walk", float(i), 60.0) for i in range(40)]
    clips = constant_clips(30, 7.0)
    recipes = sample_recipes(segments, clips, SimulationConfig(), seed=5)
    golden = Path(__file__).parent / "data" / "recipes_before_multi_moment.jsonl"
    assert recipes == read_recipes(golden)
    assert sum(len(r.events) for r in recipes) > 40
    assert "instances" not in SimulationConfig().to_json()    # cache keys stay as they were


def test_several_instances_give_queries_with_several_windows():
    segments = [BackgroundSegment("walk", float(i), 60.0) for i in range(300)]
    config = SimulationConfig(mean_gap_s=8.0, instances=(2, 5))
    recipes = sample_recipes(segments, constant_clips(60, 4.0), config, seed=1)
    counts = []
    for recipe in recipes:
        ends = 0.0
        for event in recipe.events:          # in time order, never overlapping
            assert event.onset_s > ends
            ends = event.onset_s + event.duration_s
        assert ends <= 60.0
        by_query = {}
        for event in recipe.events:
            by_query.setdefault(event.qid, []).append(event)
        for events in by_query.values():
            assert len({(e.clip_id, e.caption) for e in events}) == 1   # one clip, one caption
            counts.append(len(events))
    assert max(counts) == 5 and min(counts) >= 1
    # the walk stops at the segment end, so some queries keep fewer instances than due
    assert np.mean(np.array(counts) >= 2) > 0.35
    annotations = annotations_from_recipes(recipes, config)
    assert sorted(len(a.relevant_windows) for a in annotations) == sorted(counts)
    for annotation in annotations:
        windows = annotation.relevant_windows
        assert (windows[1:, 0] >= windows[:-1, 1]).all()   # sorted, disjoint (may touch at 0.1 s)
        assert windows.min() >= 0 and windows.max() <= annotation.duration
    assert SimulationConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="instances"):
        SimulationConfig(instances=(3, 2))
