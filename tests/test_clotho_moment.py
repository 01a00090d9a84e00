"""A simulated split end to end on the real files: ESC-50 over urban ambience."""

import json

import numpy as np
import pytest
import soundfile as sf

from amr_lib.cli import main
from amr_lib.corpora import CorpusSpec
from amr_lib.corpora.base import CorpusError
from amr_lib.corpora.esc50 import ESC50ClipCorpus
from amr_lib.lighthouse_jsonl import read_annotations
from amr_lib.simulation.algorithm import SimulationConfig
from amr_lib.simulation.clotho_moment import read_split, simulate_split, write_split


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AMR_CACHE_DIR", str(tmp_path / "cache"))


def real_sounds(data_root, split="test", max_segments=6):
    return simulate_split(CorpusSpec("esc50", str(data_root / "esc50")),
                          CorpusSpec("folder", str(data_root / "urban_ambience" / "audio")),
                          split, SimulationConfig.real_sounds(), seed=1,
                          max_segments=max_segments)


def test_real_sounds_split_is_deterministic_and_renders(data_root, tmp_path):
    result = real_sounds(data_root)
    assert result.recipes == real_sounds(data_root).recipes
    assert len(result.recipes) == 6 and len(result.annotations) == sum(
        len(r.events) for r in result.recipes) > 0
    esc50_test = {info.clip_id for info in ESC50ClipCorpus(data_root / "esc50").clips("test")}
    assert all(e.clip_id in esc50_test for r in result.recipes for e in r.events)
    renderer = result.renderer()
    first = renderer.render(result.recipes[0])
    assert first.shape == (30 * 16_000,) and np.abs(first).max() == pytest.approx(1.0)
    assert np.array_equal(first, result.renderer().render(result.recipes[0]))
    # a recording by its name: the same mixture
    assert np.array_equal(result.render(result.recipes[1].vid),
                          renderer.render(result.recipes[1]))
    with pytest.raises(KeyError, match="no recording 'nowhere' in the test split"):
        result.render("nowhere")

    folder = write_split(result, tmp_path / "sim", write_audio=True)
    back = read_split(folder)
    assert back.recipes == result.recipes and back.config == result.config
    wav, rate = sf.read(folder / "audio" / f"{result.recipes[0].vid}.wav", dtype="float32")
    assert rate == 16_000 and sf.info(folder / "audio" / f"{result.recipes[0].vid}.wav"
                                      ).subtype == "PCM_16"
    np.testing.assert_allclose(wav, first, atol=1 / 2**15)
    with pytest.raises(FileExistsError, match="not an empty folder"):
        write_split(result, folder)


def test_cli_simulate_writes_a_complete_folder(data_root, tmp_path, capsys):
    out = tmp_path / "valid"
    code = main(["simulate", "--clips", "esc50", "--clip-root", str(data_root / "esc50"),
                 "--backgrounds", "folder", "--background-root",
                 str(data_root / "urban_ambience" / "audio"), "--split", "valid",
                 "--out", str(out), "--max-segments", "4", "--segment-s", "30",
                 "--mean-gap-s", "10", "--seed", "3"])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["annotations.jsonl", "recipes.jsonl",
                                                     "simulation.json"]
    description = json.loads((out / "simulation.json").read_text())
    assert description["split"] == "valid" and description["config"]["segment_s"] == 30.0
    for annotation in read_annotations(out / "annotations.jsonl"):
        [[start, end]] = annotation.relevant_windows.tolist()
        assert 0 <= start < end <= 30.0 and end - start <= 5.0 + 1e-9  # ESC-50 clips last 5 s


def test_cli_simulates_queries_with_several_moments(data_root, tmp_path, capsys):
    out = tmp_path / "multi"
    arguments = ["simulate", "--clips", "esc50", "--clip-root", str(data_root / "esc50"),
                 "--backgrounds", "folder", "--background-root",
                 str(data_root / "urban_ambience" / "audio"), "--split", "test",
                 "--max-segments", "12", "--segment-s", "30", "--mean-gap-s", "4"]
    assert main([*arguments, "--out", str(out), "--instances", "2,4"]) == 0
    description = json.loads((out / "simulation.json").read_text())
    assert description["config"]["instances"] == [2, 4]
    counts = [len(a.relevant_windows) for a in read_annotations(out / "annotations.jsonl")]
    assert max(counts) >= 2 and max(counts) <= 4
    with pytest.raises(SystemExit) as refused:
        main([*arguments, "--out", str(tmp_path / "bad"), "--instances", "2"])
    assert refused.value.code == 2
    assert "expected FEWEST,MOST" in capsys.readouterr().err


def test_cli_refuses_backgrounds_shorter_than_a_segment(data_root, tmp_path, capsys):
    out = tmp_path / "sim"
    code = main(["simulate", "--clips", "esc50", "--clip-root", str(data_root / "esc50"),
                 "--backgrounds", "folder", "--background-root",
                 str(data_root / "urban_ambience" / "audio"), "--split", "test",
                 "--out", str(out)])
    assert code == 2
    assert "shorter than one 60 s segment" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.glob(".sim*")) == []


def test_missing_corpus_folder_is_named(tmp_path):
    with pytest.raises((CorpusError, FileNotFoundError), match="nowhere"):
        simulate_split(CorpusSpec("esc50", str(tmp_path / "nowhere")),
                       CorpusSpec("folder", str(tmp_path)), "test")
