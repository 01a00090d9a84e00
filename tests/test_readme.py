"""The README's quick start runs as written: its `amr` commands (with the real data and
a real-sounds profile cut down to seconds) and its Python lines, on a street recording with
a dog mixed in."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from dataclasses import replace

import numpy as np
import soundfile as sf
from conftest import use_tiny_profile

from amr_lib import profiles
from amr_lib.audio import load_audio
from amr_lib.cli import main

TINY_REAL = replace(profiles.Profile.real_sounds(), retrieval=profiles.RetrievalSetup(
    encoder="contrastive-untrained", train_segments=8, valid_segments=3, test_segments=3,
    model="quick", epochs=2))


def quick_start(readme: str) -> tuple[list[str], str]:
    """The quick start's `amr` command lines (comments dropped) and its Python block."""
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    bash = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    python = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    commands = [line.split("  #")[0].strip() for line in bash.splitlines()
                if line.startswith("amr ")]
    return commands, python


def test_the_quick_start_is_where_a_newcomer_starts(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    assert readme.index("## Quick start") < readme.index("## Two commands")
    commands, python = quick_start(readme)
    assert [c.split()[1] for c in commands] == ["train", "retrieve"]
    assert "--profile real-sounds" in commands[0]
    assert len(shlex.split(commands[1])) >= 6                    # several queries, one load
    assert "from amr_lib import Retriever" in python


def street_recording(data_root, path) -> None:
    """An urban ambience recording with an ESC-50 dog clip mixed in at 10 s (FLAC)."""
    ambience, rate = load_audio(sorted((data_root / "urban_ambience" / "audio").glob("*"))[0])
    rows = (data_root / "esc50" / "meta" / "esc50.csv").read_text().splitlines()
    dog = next(row.split(",")[0] for row in rows[1:] if row.split(",")[3] == "dog")
    bark, _ = load_audio(data_root / "esc50" / "audio" / dog, sample_rate=rate)
    mixture = ambience[: 40 * rate].copy()
    mixture[10 * rate: 10 * rate + len(bark)] += bark
    sf.write(path, mixture / np.abs(mixture).max() * 0.9, rate, format="FLAC")


def test_the_quick_start_runs_as_written(repo_root, data_root, tmp_path, monkeypatch):
    commands, python = quick_start((repo_root / "README.md").read_text(encoding="utf-8"))
    street_recording(data_root, tmp_path / "street.flac")
    monkeypatch.chdir(tmp_path)
    use_tiny_profile(monkeypatch, tmp_path, TINY_REAL)
    for command in commands:
        assert main(shlex.split(command)[1:]) == 0, command
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(python, "README quick start", "exec"), {})
    lines = printed.getvalue().splitlines()
    assert len(lines) == 3 and all("Moment(start_s=" in line for line in lines), lines
