import pytest

from amr_lib import config


def test_profile_defaults_to_quick_and_refuses_unknown_names(monkeypatch):
    monkeypatch.delenv("AMR_PROFILE", raising=False)
    assert config.profile_name() == "quick"
    monkeypatch.setenv("AMR_PROFILE", "real-sounds")
    assert config.profile_name() == "real-sounds"
    monkeypatch.setenv("AMR_PROFILE", "fast")
    with pytest.raises(ValueError, match="AMR_PROFILE='fast' is not a profile"):
        config.profile_name()


def test_data_root_explains_unset_and_missing_folders(monkeypatch, tmp_path):
    monkeypatch.delenv("AMR_DATA_ROOT", raising=False)
    with pytest.raises(LookupError, match="AMR_DATA_ROOT is not set"):
        config.data_root()
    monkeypatch.setenv("AMR_DATA_ROOT", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="no such folder"):
        config.data_root()
    monkeypatch.setenv("AMR_DATA_ROOT", str(tmp_path))
    assert config.data_root() == tmp_path.resolve()


def test_requirements_pin_cpu_torch_and_avoid_broken_wheels(repo_root):
    lines = [line.split("#")[0].strip() for line in
             (repo_root / "requirements.txt").read_text().splitlines()]
    packages = [line for line in lines if line]
    assert "torch==2.13.0" in packages
    names = {p.split("=")[0].split("<")[0].split(">")[0].lower() for p in packages}
    assert not names & {"torchaudio", "torchvision", "torchcodec", "laion-clap"}
    assert all(any(op in p for op in ("==", ">=")) for p in packages), "unbounded requirement"
    environment = (repo_root / "environment.yml").read_text()
    assert "python=3.11" in environment and "-r requirements.txt" in environment


def test_resolve_device_names_what_cannot_run_here(monkeypatch):
    import torch

    assert config.resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert config.resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        config.resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        config.resolve_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert config.resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(ValueError, match="1 CUDA GPU"):
        config.resolve_device("cuda:3")
