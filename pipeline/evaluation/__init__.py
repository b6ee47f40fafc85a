"""Evaluation: a model on named benchmarks, every item stored, with accuracy intervals."""

from pipeline.evaluation.harness import (
    EVAL_SAMPLING,
    Attachment,
    config_prompt,
    evaluate,
    prompt_version,
)
from pipeline.evaluation.report import BenchmarkScore, EvalReport, Score, item_records

__all__ = [
    "EVAL_SAMPLING",
    "Attachment",
    "BenchmarkScore",
    "EvalReport",
    "Score",
    "config_prompt",
    "evaluate",
    "item_records",
    "prompt_version",
]
