"""Data: molecule datasets (SMILES + label matrix ``Y`` with NaN; binary and continuous tasks), featurized
graph banks, seeded splits; image datasets (MS-COCO multi-label, few-shot class folders) and the image
bank that loads them.

>>> from metalink_dgl.data import load_dataset, featurize, make_split
>>> ds = load_dataset("sider")                         # 1427 molecules x 27 tasks
>>> graphs = featurize(ds.subset(range(8)), progress=False, cache=False)
>>> graphs.batch([0, 3]).batch_size
2
>>> split = make_split(ds.smiles, "scaffold", seed=0)  # balanced Bemis-Murcko scaffold split
>>> load_dataset("adme").task_types                    # Biogen ADME: 6 continuous endpoints
['regression', 'regression', 'regression', 'regression', 'regression', 'regression']
"""

from .bank import MoleculeGraphs
from .coco import load_coco
from .datasets import BUNDLED, MoleculeDataset, load_dataset
from .describe import describe, format_description
from .episodes import FewShotData, load_fewshot
from .featurize import cache_path, default_cache_dir, featurize
from .featurizers import FEATURIZERS, FeaturizerSpec
from .images import ImageBank, ImageDataset
from .labels import TASK_TYPES
from .splits import SPLITTERS, Split, bemis_murcko_scaffold, make_split, official_split

__all__ = [
    "BUNDLED",
    "FEATURIZERS",
    "SPLITTERS",
    "TASK_TYPES",
    "FeaturizerSpec",
    "FewShotData",
    "ImageBank",
    "ImageDataset",
    "MoleculeDataset",
    "MoleculeGraphs",
    "Split",
    "bemis_murcko_scaffold",
    "cache_path",
    "default_cache_dir",
    "describe",
    "featurize",
    "format_description",
    "load_coco",
    "load_dataset",
    "load_fewshot",
    "make_split",
    "official_split",
]
