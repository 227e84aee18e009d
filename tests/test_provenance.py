import subprocess

import pytest

from metalink_dgl.provenance import git_commit


def test_dirty_means_code_changed_not_results(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    try:
        git("init", "-q")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not available")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "table.json").write_text("{}")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    clean = git_commit(tmp_path)
    assert len(clean) == 40
    (tmp_path / "results" / "table.json").write_text('{"a": 1}')
    assert git_commit(tmp_path / "results") == clean  # a run rewrote its results: still the same code
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == clean + "-dirty"
    assert git_commit(tmp_path.parent / "no-such-dir") == "unknown"
