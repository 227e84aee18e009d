"""shards: parallel, chunked, resumable featurization gives one and the same bank however it ran."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from metalink_dgl.data import MoleculeDataset, MoleculeGraphs, cache_path, featurize, shards
from metalink_dgl.errors import MetaLinkError

CHUNK = 40


@pytest.fixture(scope="module")
def mols(tox21) -> MoleculeDataset:
    """200 real Tox21 molecules: 5 chunks of 40."""
    return tox21.subset(np.arange(200))


def _same_banks(a: MoleculeGraphs, b: MoleculeGraphs) -> None:
    assert a.layouts() == b.layouts() and len(a) == len(b)
    mine, theirs = a.arrays(), b.arrays()
    assert mine.keys() == theirs.keys()
    for name in mine:
        assert mine[name].dtype == theirs[name].dtype and np.array_equal(mine[name], theirs[name]), name


def _partial(dataset, cache_dir):
    path = cache_path(dataset, "canonical", cache_dir)
    return path, path.with_name(path.name + ".partial")


@pytest.fixture(scope="module")
def fresh(mols) -> MoleculeGraphs:
    """The bank made in memory, in one chunk, in this process."""
    return featurize(mols, "canonical", progress=False, cache=False, chunk_size=len(mols))


def _slow_here(monkeypatch, seconds: float) -> list[list[str]]:
    """Chunks featurized in this process take ``seconds`` longer, so that the pool process (which runs the
    module unpatched) gets chunks too; returns the SMILES of each chunk this process featurized."""
    seen = []
    original = shards.featurize_chunk

    def slow(featurizer, smiles, source, lines):
        seen.append(list(smiles))
        time.sleep(seconds)
        return original(featurizer, smiles, source, lines)

    monkeypatch.setattr(shards, "featurize_chunk", slow)
    return seen


def test_two_workers_and_any_chunking_give_the_same_bank(mols, fresh, cache_dir, monkeypatch):
    here = _slow_here(monkeypatch, 0.3)
    two = featurize(mols, "canonical", cache_dir=cache_dir, progress=False, workers=2, chunk_size=10)
    assert 0 < len(here) < 20  # this process and the pool process both featurized chunks
    monkeypatch.undo()
    _same_banks(two, fresh)
    _same_banks(featurize(mols, "canonical", progress=False, cache=False, chunk_size=7), fresh)
    path, partial = _partial(mols, cache_dir)
    assert (path / "manifest.json").exists() and not partial.exists()


def _counting(monkeypatch):
    calls = []
    original = shards.featurize_chunk

    def counted(featurizer, smiles, source, lines):
        calls.append(len(smiles))
        return original(featurizer, smiles, source, lines)

    monkeypatch.setattr(shards, "featurize_chunk", counted)
    return calls


def _killed_at(call: int, mols, cache_dir, kill_on_call):
    """Featurize ``mols`` in chunks of CHUNK, killed at the ``call``-th chunk; returns the bank path and its
    ``.partial`` folder."""
    restore = kill_on_call(shards, "featurize_chunk", call)
    with pytest.raises(KeyboardInterrupt):
        featurize(mols, "canonical", cache_dir=cache_dir, progress=False, chunk_size=CHUNK)
    restore()
    return _partial(mols, cache_dir)


def test_killed_run_resumes_from_its_shards(mols, fresh, cache_dir, kill_on_call, monkeypatch, caplog):
    path, partial = _killed_at(3, mols, cache_dir, kill_on_call)
    assert not path.exists() and len(list(partial.iterdir())) == 2  # the two finished chunks, nothing else
    stale = cache_dir / f".{path.name}.x1y2.tmp"  # as a run killed while writing the bank leaves it
    stale.mkdir()
    (stale / "node_offsets.npy").write_bytes(b"half")
    calls = _counting(monkeypatch)
    with caplog.at_level(logging.INFO, logger="metalink_dgl"):
        resumed = featurize(mols, "canonical", cache_dir=cache_dir, progress=False, chunk_size=CHUNK)
    assert calls == [CHUNK] * 3
    assert any("resuming: 2 of 5 chunks" in r.getMessage() for r in caplog.records)
    _same_banks(resumed, fresh)
    assert not partial.exists() and not stale.exists()


def test_corrupt_shards_are_featurized_again(mols, fresh, cache_dir, kill_on_call, monkeypatch, caplog):
    _, partial = _killed_at(4, mols, cache_dir, kill_on_call)
    first, second, third = sorted(partial.iterdir())
    array = first / "node.h.codes.npy"
    data = bytearray(array.read_bytes())
    data[-10:] = b"\x03" * 10
    array.write_bytes(bytes(data))
    (second / "manifest.json").write_text("{}")
    calls = _counting(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="metalink_dgl"):
        again = featurize(mols, "canonical", cache_dir=cache_dir, progress=False, chunk_size=CHUNK)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("is corrupt or stale; featurizing its molecules again" in w for w in warnings)
    assert calls == [CHUNK] * 4  # the two damaged chunks and the two never written
    _same_banks(again, fresh)


def test_invalid_smiles_in_a_worker_is_one_line_and_leaves_nothing(mols, cache_dir, monkeypatch):
    smiles = list(mols.smiles[:120])
    smiles[115] = "C1CC(N"  # an unclosed ring and branch, in the last of 12 chunks
    bad = MoleculeDataset("bad", "data/bad.csv", smiles, np.zeros((120, 1), np.float32), ["t"],
                          np.arange(2, 122, dtype=np.int64))
    here = _slow_here(monkeypatch, 1.0)  # the pool process reaches the last chunk long before this one
    with pytest.raises(MetaLinkError) as err:
        featurize(bad, "canonical", cache_dir=cache_dir, progress=False, workers=2, chunk_size=10)
    assert str(err.value) == "data/bad.csv, line 117: RDKit cannot parse SMILES 'C1CC(N'"
    assert "C1CC(N" not in sum(here, [])  # the error came from the pool process
    path, _ = _partial(bad, cache_dir)
    assert [p.name for p in cache_dir.iterdir()] == [path.name + ".lock"]  # no bank, shards or temporary folders


def test_a_killed_process_leaves_only_whole_shards(tox21, cache_dir):
    """SIGKILL a real two-worker run once its first shard is there; the rerun finishes it identically."""
    n, chunk = 200, 2
    script = ("import sys; from metalink_dgl.data import load_dataset, featurize; "
              f"ds = load_dataset('tox21').subset(range({n})); "
              f"featurize(ds, 'canonical', cache_dir=sys.argv[1], progress=False, workers=2, chunk_size={chunk})")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", script, str(cache_dir)], env=env, start_new_session=True,
                            stderr=subprocess.DEVNULL)
    data = tox21.subset(np.arange(n))
    path, partial = _partial(data, cache_dir)
    deadline = time.monotonic() + 120
    while not (partial.exists() and any(partial.iterdir())) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the run, its fork server and its workers
    proc.wait()
    assert partial.exists() and not path.exists()
    resumed = featurize(data, "canonical", cache_dir=cache_dir, progress=False, chunk_size=chunk)
    _same_banks(resumed, featurize(data, "canonical", progress=False, cache=False, chunk_size=n))
    assert sorted(p.name for p in cache_dir.iterdir()) == [path.name, path.name + ".lock"]  # nothing stale left


def test_concurrent_featurizations_of_one_dataset_take_turns(mols, fresh, cache_dir, monkeypatch):
    """Two featurizations of the same molecules at once (as the ranks of a distributed run): one builds the
    cache, the other waits on the lock and loads it."""
    calls = _counting(monkeypatch)
    results: list = [None, None]

    def run(i: int) -> None:
        results[i] = featurize(mols, "canonical", cache_dir=cache_dir, progress=False, chunk_size=CHUNK)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [CHUNK] * 5  # featurized once
    for bank in results:
        _same_banks(bank, fresh)


def test_a_worker_that_dies_fails_the_run_instead_of_hanging_and_the_shards_resume(mols, fresh, cache_dir,
                                                                                     monkeypatch):
    """A pool process killed mid-chunk (here it exits; in life the out-of-memory killer) makes the run stop
    with one line within seconds; the chunks this process finished stay as shards, and a rerun completes."""
    main, original = os.getpid(), shards.featurize_chunk

    def dies_in_the_pool(featurizer, smiles, source, lines):
        if os.getpid() != main:
            os._exit(9)
        time.sleep(0.5)  # leave the pool time to take a chunk
        return original(featurizer, smiles, source, lines)

    monkeypatch.setattr(shards, "START_METHOD", "fork")  # the pool process inherits the patched function
    monkeypatch.setattr(shards, "featurize_chunk", dies_in_the_pool)
    start = time.monotonic()
    with pytest.raises(shards.WorkerDied, match="worker process died") as err:
        featurize(mols, "canonical", cache_dir=cache_dir, progress=False, workers=2, chunk_size=CHUNK)
    assert time.monotonic() - start < 60 and "\n" not in str(err.value)
    monkeypatch.undo()
    path, partial = _partial(mols, cache_dir)
    assert not path.exists() and partial.exists()  # kept for a resume: the input was not at fault
    _same_banks(featurize(mols, "canonical", cache_dir=cache_dir, progress=False, workers=2, chunk_size=CHUNK),
                fresh)
