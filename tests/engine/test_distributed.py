"""Data-parallel training (gloo, CPU): torchrun runs, DDP gradients equal one process's, exact resume.

The ranks are real processes: ``python -m torch.distributed.run`` for the command line, and
``torch.multiprocessing.spawn`` with torchrun's environment variables (``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR``/``MASTER_PORT``) for the in-process checks, so both go through
:func:`metalink_dgl.engine.distributed.start` as a torchrun launch does.
"""

from __future__ import annotations

import faulthandler
import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F

import metalink_dgl.engine.multitask as multitask
from metalink_dgl.engine import TrainConfig, evaluate_checkpoint, prepare_data, train
from metalink_dgl.engine.block import Block, forward_block
from metalink_dgl.engine.build import build_model
from metalink_dgl.engine.distributed import World, start, stop, wrap
from metalink_dgl.engine.loop import _rank_rng_state
from metalink_dgl.engine.multitask import BlockStep, MultitaskJob, train_epoch
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.kg.masks import Masks, training_masks

TINY = dict(dataset="sider", max_molecules=200, hidden=32, batch_size=16, device="cpu", threads=1, seeds=[0])
HALF = 16  # rows per rank in the gradient check: one minibatch of 2 x 16 rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_torchrun(rank: int, world: int, port: int) -> None:
    """Give this process the environment torchrun gives rank ``rank`` of ``world``.

    A rank still alive after 5 minutes prints every thread's stack and exits with an error, so a
    hang fails the test with the place it hung (the ranks' stderr is the test's captured stderr).
    """
    faulthandler.dump_traceback_later(300, exit=True)
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)


def _history(run: Path) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"}
            for row in json.loads((run / "seed_0" / "history.json").read_text())]


def test_torchrun_two_processes_write_one_run(tmp_path, torchrun_train):
    out = tmp_path / "run"
    done = torchrun_train(out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("results in") == 1  # rank 0 reports
    assert [p.relative_to(out).as_posix() for p in sorted(out.rglob("*.json"))] == [
        "seed_0/config.json", "seed_0/draw.json", "seed_0/history.json", "seed_0/metrics.json", "seed_0/split.json",
        "summary.json"]
    assert sorted(p.name for p in out.rglob("*.pt")) == ["best.pt", "last.pt"]
    assert not list(out.rglob("*.tmp*"))
    metrics = json.loads((out / "seed_0" / "metrics.json").read_text())
    # one process scores the checkpoint exactly as the two ranks did together
    assert evaluate_checkpoint(out / "seed_0" / "best.pt", device="cpu")["roc_auc"] == metrics["test_roc_auc"]
    assert len(_history(out)) == 2


def _erm() -> tuple[TrainConfig, object, MultitaskJob]:
    config = TrainConfig(**{**TINY, "dataset": "tox21", "layers": 0, "setting": "standard",
                            "batch_size": HALF}).validate()
    data = prepare_data(config, progress=False)
    return config, data, MultitaskJob(config, data, 0)


def _gradient_rank(rank: int, world: int, port: int, out: str) -> None:
    """One rank of one DDP step of ERM on the first 2 x HALF training rows (SGD with lr 0 keeps the gradient)."""
    _as_torchrun(rank, world, port)
    _, device = start("cpu")
    config, data, job = _erm()
    torch.manual_seed(0)
    model = build_model(config, job.n_tasks, pretrained=True, continuous=job.continuous)
    step = wrap(BlockStep(model), find_unused_parameters=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    loss = train_epoch(model, data.inputs, job.Y, job.train_rows[:world * HALF], job.setting, job.seen, config,
                       optimizer, torch.Generator().manual_seed(0), device, False, step=step)
    torch.save({"loss": loss, "grads": {n: p.grad for n, p in model.named_parameters()}}, f"{out}/rank{rank}.pt")
    stop()


def test_ddp_gradient_is_the_single_process_gradient_of_the_union(tmp_path):
    """Two ranks of HALF rows each, gradients averaged by DDP, against one process on the same 2 x HALF rows.

    ERM on tox21, whose rows miss different labels: the two halves hold different numbers of
    queried pairs. Each rank backpropagates ``2 * (BCE summed over its queried pairs) / (queried pairs of both)``
    (:func:`~metalink_dgl.engine.loss.shard_loss`), so the average is the gradient of the mean
    BCE over all pairs, however unevenly the pairs fall on the ranks. Batch norm normalises
    each rank's rows with their own statistics, so the reference embeds each half apart (as
    the ranks do) and takes the mean BCE over the pairs of both: equal in exact arithmetic.
    """
    config, data, job = _erm()
    torch.manual_seed(0)
    model = build_model(config, job.n_tasks, pretrained=True, continuous=job.continuous)
    model.train()
    generator = torch.Generator().manual_seed(0)
    rows = job.train_rows[:2 * HALF]
    order = rows[torch.randperm(len(rows), generator=generator)]
    Y = job.Y[order]
    masks = training_masks(Y, job.setting, job.seen, aux_ratio=config.aux_ratio, heldout_ratio=config.heldout_ratio,
                           support_ratio=config.support_ratio, generator=generator)
    assert masks.queried[:HALF].sum() != masks.queried[HALF:].sum()  # a per-rank mean would be wrong
    logits, targets = [], []
    for half in (slice(0, HALF), slice(HALF, 2 * HALF)):
        block = Block(model.embed(data.inputs.batch(order[half], train=True)), Y[half],
                      Masks(masks.revealed[half], masks.queried[half], masks.new_tasks))
        out, r, t = forward_block(model, block)
        logits.append(out)
        targets.append(Y[half][r, t])
    loss = F.binary_cross_entropy_with_logits(torch.cat(logits), torch.cat(targets))
    loss.backward()

    mp.spawn(_gradient_rank, args=(2, _free_port(), str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    for name, p in model.named_parameters():
        for result in ranks:
            assert torch.allclose(result["grads"][name], p.grad, rtol=1e-5, atol=1e-7), name
    assert ranks[0]["loss"] == ranks[1]["loss"] == pytest.approx(float(loss), rel=1e-6)


def _resume_rank(rank: int, world: int, ports: list[int], folder: str) -> None:
    """Rank ``rank``: a 3-epoch run; the same run killed in its second epoch, then resumed (``--resume``)."""
    config = dict(TINY, epochs=3, batch_size=32)
    _as_torchrun(rank, world, ports[0])
    train(TrainConfig(**config, out=f"{folder}/whole"), progress=False)
    original, calls = multitask.train_epoch, []

    def dies(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    multitask.train_epoch = dies
    _as_torchrun(rank, world, ports[1])
    try:
        train(TrainConfig(**config, out=f"{folder}/killed"), progress=False)
    except KeyboardInterrupt:
        pass
    multitask.train_epoch = original
    _as_torchrun(rank, world, ports[2])
    train(TrainConfig(**config, out=f"{folder}/killed"), resume=True, progress=False)


def test_a_ddp_run_killed_mid_way_resumes_exactly(tmp_path):
    mp.spawn(_resume_rank, args=(2, [_free_port() for _ in range(3)], str(tmp_path)), nprocs=2)
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert _history(killed) == _history(whole)
    metrics = [json.loads((run / "seed_0" / "metrics.json").read_text()) for run in (whole, killed)]
    assert metrics[0]["test"] == metrics[1]["test"]
    states = [torch.load(run / "seed_0" / "best.pt")["state_dict"] for run in (whole, killed)]
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_clear_errors_before_anything_trains(tmp_path, monkeypatch):
    config = TrainConfig(**TINY)
    data = prepare_data(config, progress=False)
    monkeypatch.setattr(multitask.World, "current", classmethod(lambda cls: cls(0, 10_000)))
    with pytest.raises(MetaLinkError, match="10000 processes but only 1.. training rows"):
        MultitaskJob(config, data, 0)
    monkeypatch.undo()
    with pytest.raises(MetaLinkError, match="written by a run of 2 process"):
        _rank_rng_state({"torch_rng": None, "rank_torch_rng": [None, None]}, World(), tmp_path / "last.pt")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(MetaLinkError, match="fewshot trains in one process"):
        train(TrainConfig(dataset="fewshot", data_root=str(tmp_path), out=str(tmp_path / "run")))
