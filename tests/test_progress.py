import pytest

from amr_lib.progress import SWITCH, bars_off, progress_bar


@pytest.mark.parametrize(("value", "off"), [("1", True), ("true", True), ("ON", True),
                                            ("0", False), ("", False), ("no", False)])
def test_the_switch(monkeypatch, value, off):
    monkeypatch.setenv(SWITCH, value)
    assert bars_off() is off
    assert progress_bar(range(3)).disable is off


def test_a_bar_asked_off_stays_off_and_still_iterates(monkeypatch):
    monkeypatch.delenv(SWITCH, raising=False)
    bar = progress_bar(range(4), enabled=False)
    assert bar.disable and list(bar) == [0, 1, 2, 3]


def test_switched_off_bars_print_nothing(monkeypatch, capsys):
    monkeypatch.setenv(SWITCH, "1")
    for _ in progress_bar(range(50), desc="quiet"):
        pass
    captured = capsys.readouterr()
    assert "quiet" not in captured.err + captured.out
