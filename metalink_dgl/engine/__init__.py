"""The engine: configs, the block step, the data and model of a run, the epoch loop, the seed
skeleton and its two stages (multi-task, few-shot), and the entry points.

    config.TrainConfig -> build.prepare_data / build_model -> seed.run_seed(stage)
        -> loop.fit(run_epoch, validate) -> block.forward_block on every step
"""

from .block import Block, BlockGraph, Support, embed_support, forward_block
from .build import Prepared, build_model, load_model, prepare_data
from .config import IMAGE_DATASETS, OPTIMIZERS, SPLIT_KINDS, TrainConfig
from .evaluate import evaluate, score_rows
from .run import evaluate_checkpoint, train

__all__ = [
    "TrainConfig", "IMAGE_DATASETS", "OPTIMIZERS", "SPLIT_KINDS",
    "Block", "BlockGraph", "Support", "forward_block", "embed_support",
    "Prepared", "prepare_data", "build_model", "load_model",
    "evaluate", "score_rows", "evaluate_checkpoint", "train",
]
