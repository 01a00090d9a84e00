"""Feature store layout, damage handling, content addressing and concurrent filling."""

import json
import multiprocessing

import numpy as np
import pytest

from amr_lib.corpora import CorpusSpec
from amr_lib.features.extract import extract_features, feature_store_for
from amr_lib.features.store import FeatureStore
from amr_lib.features.windows import WindowConfig, num_frames
from amr_lib.simulation.clotho_moment import simulate_split
from amr_lib.storage.cache import ArtifactCache


class CountingEncoder:
    """A deterministic stand-in encoder: frame energy and query length, with a call log."""

    name = "counting"

    def __init__(self, log=None, scale=1.0):
        self.log, self.scale = log, scale

    def fingerprint(self):
        return f"counting-{self.scale}"

    def embed_windows(self, audio, sample_rate, window):
        if self.log:
            with open(self.log, "a") as out:
                out.write("audio\n")
        frames = num_frames(len(audio) / sample_rate, window.hop_s)
        hop = round(window.hop_s * sample_rate)
        energy = [np.mean(audio[t * hop:(t + 1) * hop] ** 2) for t in range(frames)]
        return self.scale * np.stack([energy, np.ones(frames)], axis=1)

    def query_features(self, queries):
        tokens = [np.full((len(q.split()), 3), 1.0) for q in queries]
        return tokens, np.array([[len(q), 1.0] for q in queries])


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    return simulate_split(CorpusSpec("synthetic"), CorpusSpec("synthetic"), "test", seed=0,
                          max_segments=4, cache=ArtifactCache(tmp_path_factory.mktemp("c")))


def test_layout_and_round_trip(split, tmp_path):
    store = extract_features(split, CountingEncoder(), WindowConfig(), tmp_path)
    vids = {a.vid for a in split.annotations}
    assert sorted(p.stem for p in store.audio_dir.glob("*.npz")) == sorted(vids)
    assert store.name.startswith("counting_") and store.text_dir.name == f"{store.name}_text"
    annotation = split.annotations[0]
    assert store.text_path(annotation.qid).name == f"qid{annotation.qid}.npz"
    frames = store.load_audio(annotation.vid)
    assert frames.shape == (60, 2) and frames.dtype == np.float32
    assert store.load_tokens(annotation.qid).shape == (len(annotation.query.split()), 3)
    assert store.load_sentence(annotation.qid)[0] == len(annotation.query)
    with np.load(store.audio_path(annotation.vid)) as raw:   # what Lighthouse reads
        assert list(raw.keys()) == ["features"]
    manifest = json.loads((store.audio_dir / "manifest.json").read_text())
    assert manifest["feature_name"] == store.name and manifest["material"]["window_s"] == 1.0
    # features follow the rendered audio: frames inside an event are louder
    recipe = next(r for r in split.recipes if r.vid == annotation.vid)
    inside = np.zeros(60, dtype=bool)
    for event in recipe.events:
        inside[int(event.onset_s) + 1:int(event.onset_s + event.duration_s)] = True
    assert frames[inside, 0].mean() > frames[~inside, 0].mean()


def test_the_name_changes_with_any_input(split, tmp_path):
    base = feature_store_for(split, CountingEncoder(), WindowConfig(), tmp_path).name
    assert feature_store_for(split, CountingEncoder(), WindowConfig(), tmp_path).name == base
    assert feature_store_for(split, CountingEncoder(scale=2.0), WindowConfig(),
                             tmp_path).name != base
    assert feature_store_for(split, CountingEncoder(), WindowConfig(window_s=4.0),
                             tmp_path).name != base


def test_damaged_files_are_recomputed(split, tmp_path):
    log = tmp_path / "log.txt"
    store = extract_features(split, CountingEncoder(log), WindowConfig(), tmp_path)
    calls = log.read_text().count("audio")
    vid = split.annotations[0].vid
    good = store.load_audio(vid)
    store.audio_path(vid).write_bytes(store.audio_path(vid).read_bytes()[:50])  # truncated
    with pytest.warns(UserWarning, match="damaged"):
        extract_features(split, CountingEncoder(log), WindowConfig(), tmp_path)
    assert log.read_text().count("audio") == calls + 1
    np.testing.assert_array_equal(store.load_audio(vid), good)


def test_unreadable_file_on_load_names_it(tmp_path):
    store = FeatureStore(tmp_path, "x", {"a": 1})
    store.audio_dir.mkdir(parents=True)
    store.audio_path("v").write_text("not an npz")
    with pytest.raises(ValueError, match=r"v\.npz: unreadable feature file"):
        store.load_audio("v")
    with pytest.raises(FileNotFoundError, match="extract the features first"):
        store.load_audio("missing")
    with pytest.raises(ValueError, match="finite 2-D"):
        store.save_audio("v", np.array([[np.nan]]))


def _fill(split, root, log):
    extract_features(split, CountingEncoder(log), WindowConfig(), root)


def test_two_processes_fill_a_store_once(split, tmp_path):
    log = tmp_path / "log.txt"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_fill, args=(split, tmp_path / "f", str(log)))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    assert log.read_text().count("audio") == len({a.vid for a in split.annotations})
