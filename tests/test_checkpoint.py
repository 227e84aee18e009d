import pickle

import pytest
import torch

from metalink_dgl.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from metalink_dgl.errors import MetaLinkError


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_round_trip(tmp_path):
    state = {"w": torch.randn(3, 2)}
    save_checkpoint(tmp_path / "c.pt", state_dict=state, config={"a": 1}, task_names=["x"])
    ckpt = load_checkpoint(tmp_path / "c.pt")
    assert ckpt["format"] == FORMAT and torch.equal(ckpt["state_dict"]["w"], state["w"])
    assert ckpt["config"] == {"a": 1} and ckpt["task_names"] == ["x"]
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temp file left behind


def test_truncated_corrupt_foreign_and_pickled_checkpoints_are_refused(tmp_path, capsys):
    save_checkpoint(tmp_path / "c.pt", state_dict={"w": torch.randn(50, 50)})
    data = (tmp_path / "c.pt").read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "noise.pt").write_bytes(b"\x00garbage" * 100)
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    torch.save({"format": FORMAT, "payload": Evil()}, tmp_path / "evil.pt")
    for name, match in [("trunc.pt", "truncated or corrupt"), ("noise.pt", "truncated or corrupt"),
                        ("foreign.pt", "not a metalink-dgl checkpoint"), ("evil.pt", "refused"),
                        ("missing.pt", "not found")]:
        with pytest.raises(MetaLinkError, match=match) as err:
            load_checkpoint(tmp_path / name)
        assert "\n" not in str(err.value) and name in str(err.value)
    assert "this must never run" not in capsys.readouterr().out
    with pytest.raises(pickle.UnpicklingError):
        torch.load(tmp_path / "evil.pt", weights_only=True)
