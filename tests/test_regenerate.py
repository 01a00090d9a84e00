"""scripts/regenerate.py: which committed results count as current."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from amr_lib.experiments.results import profile_definitions

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "regenerate.py"


@pytest.fixture
def regenerate(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("regenerate", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "regenerate", module)    # dataclasses look it up
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "DATA", tmp_path)
    return module


def study(regenerate, name):
    return next(s for s in regenerate.STUDIES if s.name == name)


def commit(regenerate, name, fingerprint, profiles):
    path = study(regenerate, name).committed_provenance()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"numerics": {"fingerprint": fingerprint},
                                "profiles": profiles}))


def test_a_study_reads_its_own_profile_or_all_of_them(regenerate):
    every = ["quick", "real-sounds"]
    assert study(regenerate, "table1_quick").profiles(every) == ["quick"]
    assert study(regenerate, "beyond_real-sounds").profiles(every) == ["real-sounds"]
    assert study(regenerate, "transfer").profiles(every) == every


def test_another_profiles_change_leaves_a_study_current(regenerate):
    now = profile_definitions()
    other = {**now, "real-sounds": "0000000000000000"}
    commit(regenerate, "table1_quick", "abc", other)
    commit(regenerate, "table1_real-sounds", "abc", other)
    commit(regenerate, "transfer", "abc", other)
    assert regenerate.is_current(study(regenerate, "table1_quick"), "abc")
    assert not regenerate.is_current(study(regenerate, "table1_real-sounds"), "abc")
    assert not regenerate.is_current(study(regenerate, "transfer"), "abc")


def test_other_numerics_or_no_provenance_is_not_current(regenerate):
    assert not regenerate.is_current(study(regenerate, "sed"), "abc")
    commit(regenerate, "sed", "abc", profile_definitions())
    assert regenerate.is_current(study(regenerate, "sed"), "abc")
    assert not regenerate.is_current(study(regenerate, "sed"), "def")


def test_a_share_study_is_a_grid_of_its_own(regenerate):
    """Made perhaps on a machine of other numerics than the main grid, it must never
    remake the main grid's points: its own folder and its own result."""
    for profile in ("quick", "real-sounds"):
        shares = study(regenerate, f"beyond_shares_{profile}")
        assert shares.output(Path("grids")) == Path("grids") / f"beyond_shares_{profile}"
        assert shares.committed_provenance().parent.name == f"beyond_shares_{profile}"


def test_a_grid_read_back_from_another_machine_is_not_current_here(regenerate):
    name = "beyond_real-sounds"
    commit(regenerate, name, "abc", profile_definitions())
    folder = study(regenerate, name).committed_provenance().parent
    for extra in study(regenerate, name).extras:
        (folder / extra).write_text("{}")
    assert regenerate.is_current(study(regenerate, name), "abc")
    made = json.loads(study(regenerate, name).committed_provenance().read_text())
    for points, current in ((["abc"], True), (["abc", "def"], False), (["def"], False)):
        study(regenerate, name).committed_provenance().write_text(
            json.dumps({**made, "point_numerics": points}))
        assert regenerate.is_current(study(regenerate, name), "abc") is current
