"""The numerics fingerprint: the same numbers give the same fingerprint (in another process,
whatever the global random state), and a change of any number (the dropout stream, an
initialisation, a loss) gives another one, so caches and live checks follow the numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import torch

from amr_lib import numerics
from amr_lib.model import am_detr, criterion, dropout


def test_the_same_numbers_give_the_same_fingerprint_in_another_process():
    here = numerics.compute_fingerprint()
    torch.rand(7)                        # the global stream must not matter
    assert numerics.compute_fingerprint() == here == numerics.fingerprint()
    script = "import torch; torch.rand(3); from amr_lib.numerics import fingerprint; " \
             "print(fingerprint())"
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": "123"})
    assert other.stdout.strip() == here
    assert len(here) == 16 and int(here, 16) >= 0


def test_a_changed_dropout_stream_changes_the_fingerprint(monkeypatch):
    before = numerics.compute_fingerprint()
    original = dropout.random_bits

    def shifted(shape, p):               # one more draw from torch's generator first
        torch.randint(0, 2, ())
        return original(shape, p)

    monkeypatch.setattr(dropout, "random_bits", shifted)
    assert numerics.compute_fingerprint() != before


def test_a_changed_initialisation_changes_the_fingerprint(monkeypatch):
    before = numerics.compute_fingerprint()
    original = am_detr.nn.init.xavier_uniform_
    monkeypatch.setattr(am_detr.nn.init, "xavier_uniform_",
                        lambda tensor, gain=1.0: original(tensor, gain=1.01))
    assert numerics.compute_fingerprint() != before


def test_a_changed_loss_changes_the_fingerprint(monkeypatch):
    before = numerics.compute_fingerprint()
    original = criterion.SetCriterion.total
    monkeypatch.setattr(criterion.SetCriterion, "total",
                        lambda self, losses: original(self, losses) * 1.001)
    assert numerics.compute_fingerprint() != before


def test_describe_names_the_machine_and_the_cli_prints_it(capsys):
    from amr_lib.cli import main

    machine = numerics.describe()
    assert set(machine) == {"fingerprint", "cpu", "torch_cpu_capability", "threads",
                            "torch", "numpy"}
    assert main(["fingerprint", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == machine
    assert main(["fingerprint"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == machine["fingerprint"]


def test_the_tiny_problem_is_learnable_and_seeded():
    first, again = numerics.tiny_split(6, 0), numerics.tiny_split(6, 0)
    assert torch.equal(first.audio, again.audio)
    assert not torch.equal(first.audio, numerics.tiny_split(6, 1).audio)
    # the moment's frames hold its class's prototype (3 in the class's dimension over unit
    # noise), the other frames only noise: the class is readable from the audio
    for row, annotation in enumerate(first.annotations):
        label = int(annotation.query.split()[-1])
        start, end = annotation.relevant_windows[0].astype(int)
        audio = first.audio[first.recording[row], :, label].numpy()
        inside = np.zeros(len(audio), bool)
        inside[start:end] = True
        assert audio[inside].mean() - audio[~inside].mean() > 1.5
