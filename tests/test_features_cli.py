"""`amr features` on a small simulated split, end to end."""

import numpy as np
import pytest

from amr_lib.cli import main


@pytest.fixture
def simulated(tmp_path, monkeypatch):
    monkeypatch.setenv("AMR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "sim"
    assert main(["simulate", "--clips", "synthetic", "--backgrounds", "synthetic", "--split",
                 "test", "--out", str(out), "--max-segments", "3", "--seed", "2"]) == 0
    return out


def test_untrained_encoder_features_in_lighthouse_layout(simulated, tmp_path, capsys):
    root = tmp_path / "features"
    code = main(["features", "--annotations", str(simulated / "annotations.jsonl"),
                 "--recipes", str(simulated / "recipes.jsonl"),
                 "--encoder", "contrastive-untrained", "--out", str(root)])
    assert code == 0, capsys.readouterr().err
    [audio_dir] = [p for p in root.iterdir() if p.is_dir() and not p.name.endswith("_text")]
    assert audio_dir.name.startswith("contrastive-untrained_")
    files = sorted(audio_dir.glob("*.npz"))
    assert files
    with np.load(files[0]) as data:
        assert data["features"].shape[0] == 60
        np.testing.assert_allclose(np.linalg.norm(data["features"], axis=1), 1.0, atol=1e-4)
    texts = sorted((root / f"{audio_dir.name}_text").glob("qid*.npz"))
    with np.load(texts[0]) as data:
        assert data["last_hidden_state"].shape[1] == 384
    # a second run reuses everything (same content address, nothing to do)
    before = {p: p.stat().st_mtime_ns for p in files}
    assert main(["features", "--annotations", str(simulated / "annotations.jsonl"),
                 "--recipes", str(simulated / "recipes.jsonl"),
                 "--encoder", "contrastive-untrained", "--out", str(root)]) == 0
    assert {p: p.stat().st_mtime_ns for p in files} == before


def test_wider_windows_give_another_feature_set(simulated, tmp_path):
    root = tmp_path / "features"
    for window in ("1", "4"):
        assert main(["features", "--annotations", str(simulated / "annotations.jsonl"),
                     "--recipes", str(simulated / "recipes.jsonl"), "--encoder",
                     "contrastive-untrained", "--window", window, "--out", str(root)]) == 0
    audio_dirs = [p for p in root.iterdir() if p.is_dir() and not p.name.endswith("_text")]
    assert len(audio_dirs) == 2


def test_missing_simulation_folder_is_explained(tmp_path, capsys):
    (tmp_path / "recipes.jsonl").write_text("")
    code = main(["features", "--annotations", str(tmp_path / "a.jsonl"), "--recipes",
                 str(tmp_path / "recipes.jsonl"), "--encoder", "contrastive-untrained",
                 "--out", str(tmp_path / "f")])
    assert code == 2
    assert "simulation.json: not found" in capsys.readouterr().err
