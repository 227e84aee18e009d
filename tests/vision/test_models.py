"""Image encoders, pretrained weights, the cosine predictor, Meta-Baseline at 0 KG layers, and the vision metrics."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
import torchvision
from sklearn.metrics import average_precision_score

from metalink_dgl.data.episodes import Episode
from metalink_dgl.engine import TrainConfig, build_model
from metalink_dgl.engine.fewshot import episode_logits
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.metrics import accuracy_interval, map_by_task
from metalink_dgl.nn import MetaLink, ResNet12, build_image_encoder, load_backbone


@pytest.mark.parametrize("width,size", [(64, 84), (8, 32), (4, 16)])
def test_resnet12_widths_and_sizes(width, size):
    net = ResNet12(width)
    channels = [m.out_channels for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (1, 1)]
    assert channels == [width, round(2.5 * width), 5 * width, 10 * width] and net.out_feats == 10 * width
    if width < 64:  # the full-size one only for its shape
        net.eval()
        assert net(torch.randn(2, 3, size, size)).shape == (2, 10 * width)


@pytest.mark.parametrize("name", ["resnet50", "resnet12"])
def test_image_encoders_project_to_hidden_in_train_and_eval(name):
    encoder = build_image_encoder(name, hidden=16, width=4)
    x = torch.randn(2, 3, 32, 32)
    assert encoder(x).shape == (2, 16)
    assert encoder.eval()(x).shape == (2, 16)


def test_a_torchvision_resnet50_file_loads_without_its_classifier(tmp_path):
    torch.manual_seed(0)
    reference = torchvision.models.resnet50()
    path = tmp_path / "resnet50.pth"
    torch.save(reference.state_dict(), path)  # the format of torchvision's files, fc included
    encoder = build_image_encoder("resnet50", hidden=8)
    load_backbone(encoder.backbone, path)
    assert torch.equal(encoder.backbone.conv1.weight, reference.conv1.weight)
    assert torch.equal(encoder.backbone.layer4[2].bn3.running_var, reference.layer4[2].bn3.running_var)


def test_weights_that_do_not_fit_are_a_clear_error(tmp_path):
    small = tmp_path / "resnet12-w4.pt"
    torch.save(ResNet12(4).state_dict(), small)
    target = ResNet12(4)
    load_backbone(target, small)  # the same architecture fits
    for backbone, expected in ((ResNet12(8), "wrong shape"), (build_image_encoder("resnet50", 8).backbone, "missing")):
        with pytest.raises(MetaLinkError) as excinfo:
            load_backbone(backbone, small)
        message = str(excinfo.value)
        assert str(small) in message and expected in message and "\n" not in message
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00 not a checkpoint")
    with pytest.raises(MetaLinkError, match="not a readable torch state_dict"):
        load_backbone(target, garbage)
    with pytest.raises(MetaLinkError, match="file not found"):
        load_backbone(target, tmp_path / "absent.pt")


def test_build_model_says_whether_the_backbone_is_pretrained(tmp_path, caplog):
    config = TrainConfig(dataset="coco", data_root=str(tmp_path), encoder="resnet12", width=4, hidden=8)
    with caplog.at_level(logging.INFO, logger="metalink_dgl"):
        build_model(config, 3, pretrained=True)
    assert "randomly initialised (no --pretrained" in caplog.text
    path = tmp_path / "w.pt"
    torch.save(ResNet12(4).state_dict(), path)
    config.pretrained = str(path)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="metalink_dgl"):
        model = build_model(config, 3, pretrained=True)
    assert f"initialised from {path}" in caplog.text
    assert torch.equal(model.encoder.backbone.state_dict()["stages.0.body.0.weight"],
                       torch.load(path, weights_only=True)["stages.0.body.0.weight"])


def _episode(ways=3, shots=2, query=4, seed=0) -> Episode:
    g = torch.Generator().manual_seed(seed)
    labels = torch.cat([torch.arange(ways).repeat(shots), torch.arange(ways).repeat_interleave(query)])
    labels[ways * shots:] = labels[ways * shots:][torch.randperm(ways * query, generator=g)]
    n = len(labels)
    return Episode(torch.arange(n), torch.nn.functional.one_hot(labels, ways).float(),
                   torch.arange(n) < ways * shots, torch.arange(ways))


def test_zero_kg_layers_is_meta_baseline():
    """Scaled cosine between each query embedding and the mean of its class's normalised support embeddings."""
    torch.manual_seed(0)
    model = MetaLink(torch.nn.Linear(10, 16), n_tasks=0, hidden=16, layers=0, edge_pred="cos").eval()
    with torch.no_grad():
        model.predictors[0].temperature.fill_(7.0)
    episode = _episode()
    z = model.embed(torch.randn(len(episode.rows), 10))
    support = z[episode.support]
    prototypes = torch.stack([support[episode.Y[episode.support][:, c] == 1].mean(0) for c in range(3)])
    expected = 7.0 * torch.nn.functional.normalize(z[~episode.support], dim=1) @ \
        torch.nn.functional.normalize(prototypes, dim=1).T
    assert torch.allclose(episode_logits(model, z, episode), expected, atol=1e-6)


def test_episode_query_labels_never_change_a_prediction():
    torch.manual_seed(0)
    model = MetaLink(torch.nn.Linear(10, 16), n_tasks=0, hidden=16, layers=2, edge_pred="cos").eval()
    episode = _episode()
    z = model.embed(torch.randn(len(episode.rows), 10))
    base = episode_logits(model, z, episode)
    shuffled = episode.Y.clone()
    shuffled[~episode.support] = shuffled[~episode.support].roll(1, dims=1)
    assert torch.equal(episode_logits(model, z, Episode(episode.rows, shuffled, episode.support, episode.classes)),
                       base)
    relabelled = episode.Y.clone()
    relabelled[0] = relabelled[0].roll(1)  # a support label does matter
    assert not torch.equal(episode_logits(model, z, Episode(episode.rows, relabelled, episode.support,
                                                            episode.classes)), base)


def test_map_is_sklearn_average_precision_per_class():
    rng = np.random.default_rng(0)
    y, s, t = (rng.random(60) < 0.4).astype(float), rng.random(60), np.repeat(np.arange(3), 20)
    y[40:] = 0.0  # task 2 has one class only: skipped
    out = map_by_task(y, s, t, ["a", "b", "c"])
    expected = np.mean([average_precision_score(y[t == k], s[t == k]) for k in (0, 1)])
    assert out["metric"] == "map" and out["map"] == pytest.approx(expected)
    assert out["n_tasks_scored"] == 2 and out["n_tasks_skipped"] == 1


def test_accuracy_interval():
    acc = np.array([0.6, 0.8, 0.7, 0.9])
    out = accuracy_interval(acc)
    assert out["accuracy"] == pytest.approx(0.75)
    assert out["ci95"] == pytest.approx(1.96 * acc.std() / 2) and out["n_episodes"] == 4
