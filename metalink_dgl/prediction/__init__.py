"""Predict / impute: fill in the unknown labels of a CSV of molecules with a trained checkpoint.

    plan.plan_tasks (task nodes, support set) -> columns (input columns, known labels)
        -> api.predict (chunks of the CSV, one block step per minibatch, atomic output)
"""

from .api import PredictResult, predict
from .columns import PROB_SUFFIX, VALID_COLUMN
from .plan import TaskPlan, plan_tasks

__all__ = ["predict", "PredictResult", "PROB_SUFFIX", "VALID_COLUMN", "TaskPlan", "plan_tasks"]
