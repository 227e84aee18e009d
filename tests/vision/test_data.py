"""COCO-format and few-shot folder data: what is read, the splits, the episodes and every bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from metalink_dgl.data import ImageBank, load_coco, load_fewshot
from metalink_dgl.data.episodes import sample_episode
from metalink_dgl.data.synthetic import SHAPES, write_coco
from metalink_dgl.errors import MetaLinkError


def _one_line(excinfo, *names) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    for name in names:
        assert str(name) in message, message
    return message


def test_coco_labels_are_the_annotated_categories(coco_root):
    data = load_coco(coco_root)
    assert data.task_names == [name for name, _ in SHAPES]
    ann = json.loads((coco_root / "annotations" / "instances_val.json").read_text())
    first = ann["images"][0]
    row = data.paths.index(str(coco_root / "val" / first["file_name"]))
    present = {a["category_id"] - 10 for a in ann["annotations"] if a["image_id"] == first["id"]}
    assert set(np.flatnonzero(data.Y[row])) == present
    assert data.Y.shape == (len(data), 6) and set(np.unique(data.Y)) <= {0.0, 1.0}
    # the rule: classes 2k and 2k+1 co-occur
    agree = (data.Y[:, 0::2] == data.Y[:, 1::2]).mean()
    assert agree > 0.8


def test_official_split_tests_on_the_val_file_and_random_split_otherwise(coco_root, tmp_path):
    data = load_coco(coco_root)
    split = data.make_split("official", 0)
    val_rows = {i for i, p in enumerate(data.paths) if "/val/" in p}
    assert set(split.test.tolist()) == val_rows
    assert not set(split.val.tolist()) & val_rows and len(split.val) == round(0.1 * (len(data) - len(val_rows)))
    assert split.kind == "official" and data.make_split("official", 0).val.tolist() == split.val.tolist()

    only_train = tmp_path / "coco"
    shutil.copytree(coco_root, only_train)
    (only_train / "annotations" / "instances_val.json").unlink()
    single = load_coco(only_train)
    fallback = single.make_split("official", 0)
    assert fallback.kind == "random" and fallback.sizes() == {"train": 128, "val": 16, "test": 16}


@pytest.mark.parametrize(
    "corrupt,expected",
    [
        (lambda root: (root / "annotations" / "instances_val.json").write_text('{"images": [}'), "not valid JSON"),
        (lambda root: (root / "annotations" / "instances_val.json").write_text('{"annotations": []}'),
         "no images or categories"),
        (lambda root: (root / "annotations" / "instances_val.json").write_text(json.dumps(
            {"images": [{"id": 1, "file_name": "a.png"}], "categories": [{"id": 1, "name": "x"}],
             "annotations": [{"id": 7, "image_id": 1, "category_id": 99}]})), "annotation 7"),
    ],
    ids=["malformed-json", "not-instances", "unknown-category"],
)
def test_a_bad_annotation_file_is_a_one_line_error_naming_it(tmp_path, corrupt, expected):
    root = write_coco(tmp_path / "coco", n_train=8, n_val=4)
    corrupt(root)
    with pytest.raises(MetaLinkError) as excinfo:
        load_coco(root)
    assert expected in _one_line(excinfo, root / "annotations" / "instances_val.json")


def test_missing_folders_and_images_are_one_line_errors_naming_them(tmp_path):
    with pytest.raises(MetaLinkError) as excinfo:
        load_coco(tmp_path / "nowhere")
    _one_line(excinfo, tmp_path / "nowhere")
    root = write_coco(tmp_path / "coco", n_train=8, n_val=4)
    (root / "train" / "train_0003.png").unlink()
    with pytest.raises(MetaLinkError) as excinfo:
        load_coco(root)
    _one_line(excinfo, root / "train" / "train_0003.png")
    shutil.rmtree(root / "val")
    (root / "train" / "train_0003.png").write_bytes(b"")
    with pytest.raises(MetaLinkError) as excinfo:
        load_coco(root)
    _one_line(excinfo, root / "val")


def test_an_image_that_cannot_be_opened_is_a_one_line_error_naming_it(tmp_path):
    root = write_coco(tmp_path / "coco", n_train=8, n_val=4)
    broken = root / "train" / "train_0002.png"
    broken.write_bytes(b"not a png at all")
    data = load_coco(root)  # listing is fine; the image is opened when a batch needs it
    bank = ImageBank(data.paths, 32)
    assert bank.batch([0, 1]).shape == (2, 3, 32, 32)
    with pytest.raises(MetaLinkError) as excinfo:
        bank.batch([1, 2, 3], train=True)
    assert "cannot open the image" in _one_line(excinfo, broken)


def test_image_bank_augments_only_when_training(coco_root):
    bank = ImageBank(load_coco(coco_root).paths, 24)
    x = bank.batch(torch.tensor([3, 1, 3]))
    assert x.shape == (3, 3, 24, 24) and x.dtype == torch.float32
    assert torch.equal(x[0], x[2]) and torch.equal(bank.batch([3])[0], x[0])
    torch.manual_seed(0)
    train = bank.batch([3] * 8, train=True)
    assert not all(torch.equal(train[0], t) for t in train[1:])


def test_fewshot_tree_and_episodes(fewshot_root):
    data = load_fewshot(fewshot_root)
    assert [len(data.splits[s].class_names) for s in ("train", "val", "test")] == [8, 5, 5]
    split = data.splits["test"]
    episode = sample_episode(split, ways=5, shots=2, query=3, generator=torch.Generator().manual_seed(1))
    assert episode.rows.shape == (25,) and episode.Y.shape == (25, 5) and int(episode.support.sum()) == 10
    assert len(set(episode.rows.tolist())) == 25 and torch.all(episode.Y.sum(dim=1) == 1)
    assert torch.all(episode.Y[episode.support].sum(dim=0) == 2) and torch.all(episode.Y[~episode.support].sum(0) == 3)
    rows, labels = split.labelled_rows()
    cls_of = dict(zip(rows.tolist(), labels.tolist()))
    for row, y in zip(episode.rows.tolist(), episode.Y.argmax(dim=1).tolist()):  # labels are the folders
        assert cls_of[row] == int(episode.classes[y])
    again = sample_episode(split, 5, 2, 3, torch.Generator().manual_seed(1))
    assert torch.equal(again.rows, episode.rows) and torch.equal(episode.target, episode.Y[10:].argmax(1))


def test_fewshot_bad_trees_are_one_line_errors_naming_the_folder(tmp_path, fewshot_root):
    root = tmp_path / "fs"
    shutil.copytree(fewshot_root, root)
    shutil.rmtree(root / "val")
    with pytest.raises(MetaLinkError) as excinfo:
        load_fewshot(root)
    _one_line(excinfo, root / "val")
    (root / "val" / "empty_class").mkdir(parents=True)
    with pytest.raises(MetaLinkError) as excinfo:
        load_fewshot(root)
    _one_line(excinfo, root / "val" / "empty_class")
    (root / "val" / "empty_class" / "0.png").write_bytes(b"")
    data = load_fewshot(root)
    with pytest.raises(MetaLinkError) as excinfo:
        data.splits["val"].check_episodes(ways=5, per_class=6)
    _one_line(excinfo, root / "val", "--ways 5")
    with pytest.raises(MetaLinkError) as excinfo:
        data.splits["train"].check_episodes(ways=5, per_class=13)
    _one_line(excinfo, "fewer than the 13")
