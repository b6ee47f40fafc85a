"""Scaling curves over an experiment's arms: accuracy (or log error) vs data size per method.

The negative-data paper (Setlur et al. 2024) plots log test error against log n for SFT,
RFT, DPO and per-step DPO and fits a power law per method; the slope is what we report
(SFT about -0.15 on GSM8K there). Here n is an arm's training examples (`blend.total`) and
the fit is least squares on log-log points, which needs two sizes or more per method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipeline.config import ExperimentConfig
from pipeline.flow.graph import arm_configs


@dataclass(frozen=True)
class ScalingPoint:
    """One arm on the curve of its method."""

    arm: str
    method: str
    size: int
    accuracy: float

    @property
    def error(self) -> float:
        return 1.0 - self.accuracy


@dataclass(frozen=True)
class ScalingCurve:
    """One method's points by size, and the power-law slope of error vs n (None: < 2 sizes)."""

    method: str
    points: list[ScalingPoint]
    slope: float | None


def arm_sizes(config: ExperimentConfig) -> dict[str, tuple[str, int]]:
    """Arm -> (training method, training examples asked for)."""
    return {arm: (c.training.method, c.blend.total) for arm, c in arm_configs(config).items()}


def scaling_curves(config: ExperimentConfig, accuracy: dict[str, float]) -> list[ScalingCurve]:
    """Curves of the arms with an accuracy, one per method, sizes ascending."""
    by_method: dict[str, list[ScalingPoint]] = {}
    for arm, (method, size) in arm_sizes(config).items():
        if arm in accuracy and size > 0:
            by_method.setdefault(method, []).append(ScalingPoint(arm, method, size, accuracy[arm]))
    curves = []
    for method, points in by_method.items():
        points.sort(key=lambda p: p.size)
        curves.append(ScalingCurve(method, points, log_log_slope(points)))
    return curves


def log_log_slope(points: list[ScalingPoint]) -> float | None:
    """Least-squares slope of log(error) on log(n); None with fewer than two sizes."""
    usable = [(math.log(p.size), math.log(max(p.error, 1e-6))) for p in points]
    if len({x for x, _ in usable}) < 2:
        return None
    mean_x = sum(x for x, _ in usable) / len(usable)
    mean_y = sum(y for _, y in usable) / len(usable)
    sxx = sum((x - mean_x) ** 2 for x, _ in usable)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in usable)
    return sxy / sxx
