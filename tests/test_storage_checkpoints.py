import pickle

import pytest
import torch

from amr_lib.storage.checkpoints import read_checkpoint, write_checkpoint

FORMAT, VERSION = "amr_lib.test", 3


def test_round_trip(tmp_path):
    path = tmp_path / "a.ckpt"
    write_checkpoint(path, {"format": FORMAT, "version": VERSION, "w": torch.arange(4.0)})
    checkpoint = read_checkpoint(path, FORMAT, VERSION)
    assert torch.equal(checkpoint["w"], torch.arange(4.0))
    assert [p.name for p in tmp_path.iterdir()] == ["a.ckpt"]     # no temporary left


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", b"PK\x03\x04" + bytes(64)])
def test_damaged_files_are_named_without_unsafe_advice(tmp_path, content):
    path = tmp_path / "damaged.ckpt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a checkpoint written by amr") as error:
        read_checkpoint(path, FORMAT, VERSION)
    assert str(path) in str(error.value)
    assert "weights_only" not in str(error.value)


class Payload:
    """A pickle that would create a file when unpickled with weights_only=False."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_file_carrying_code_is_refused_and_the_code_never_runs(tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "foreign.ckpt"
    torch.save({"format": FORMAT, "version": VERSION, "payload": Payload(marker)}, path,
               pickle_module=pickle)
    with pytest.raises(ValueError, match="not a checkpoint written by amr") as error:
        read_checkpoint(path, FORMAT, VERSION)
    assert "weights_only" not in str(error.value)
    assert not marker.exists()


def test_other_formats_and_versions_are_refused(tmp_path):
    path = tmp_path / "other.ckpt"
    torch.save({"format": "someone.else", "version": VERSION}, path)
    with pytest.raises(ValueError, match=r"not a checkpoint written by amr.*'someone.else'"):
        read_checkpoint(path, FORMAT, VERSION)
    torch.save([1, 2, 3], path)
    with pytest.raises(ValueError, match="not a checkpoint written by amr"):
        read_checkpoint(path, FORMAT, VERSION)
    torch.save({"format": FORMAT, "version": VERSION + 1}, path)
    with pytest.raises(ValueError, match=r"version 4, this code reads version 3"):
        read_checkpoint(path, FORMAT, VERSION)
    with pytest.raises(FileNotFoundError, match=r"missing\.ckpt"):
        read_checkpoint(tmp_path / "missing.ckpt", FORMAT, VERSION)
