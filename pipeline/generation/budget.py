"""Fill-to-target budgets: keep generating in rounds until N problems survive the filters.

The FLAMES paper's "150K problems per strategy" counts unique problems that survived
filtering, not attempts. In `kept` mode a strategy's budget is such a count: each round
plans more slots (a longer prefix of the same deterministic plan, so earlier rounds are
never redone and a rerun resumes), runs them through the resumable engine, then counts the
strategy's problems that parsed, are not exact duplicates of an earlier one (the dedup
normaliser) and are not contaminated (the decontamination index, at the experiment's
threshold). The next round is sized by the yield so far; `attempts_cap` caps the plan.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlite_utils import Database

from pipeline.config import ExperimentConfig, StrategyConfig
from pipeline.decontam import NgramIndex, load_benchmarks
from pipeline.dedup.text import normalize
from pipeline.errors import ConfigError, FlamesError

# Default cap on slots tried in `kept` mode, as a multiple of the target.
ATTEMPTS_PER_TARGET = 4
# A round asks for this much more than the yield so far predicts, so one round usually ends it.
HEADROOM = 1.1


@dataclass(frozen=True)
class RoundReport:
    """One fill-to-target round: slots tried, problems that parsed, and that survived."""

    round: int
    attempts: int  # slots planned in this round (new ones)
    parsed: int  # of those, problems that parsed and passed the strategy's checks
    kept: int  # new problems that are unique and clean
    kept_total: int

    @property
    def yield_rate(self) -> float:
        """Surviving problems per slot tried in this round."""
        return self.kept / self.attempts if self.attempts else 0.0


def attempts_cap(cfg: StrategyConfig, target: int) -> int:
    """The most slots `kept` mode may plan for `target` problems."""
    if cfg.attempts_cap is not None:
        return max(cfg.attempts_cap, target)
    return target * ATTEMPTS_PER_TARGET


def next_plan(target: int, kept: int, planned: int, cap: int) -> int:
    """How many slots the plan should hold for the next round (== `planned`: stop)."""
    if kept >= target or planned >= cap:
        return planned
    if kept == 0:  # nothing survived yet: no yield to size by, so double the plan
        return min(cap, max(1, planned * 2))
    more = math.ceil((target - kept) / (kept / planned) * HEADROOM)
    return min(cap, planned + max(1, more))


class Survivors:
    """Counts a strategy's stored problems that are unique (exact, normalised) and clean.

    Reads only problems stored since the last count, so each round costs its new rows.
    """

    def __init__(
        self,
        db: Database,
        experiment_id: int,
        strategy: str,
        contaminated: Callable[[list[str]], list[bool]],
    ) -> None:
        self.db, self.experiment_id, self.strategy = db, experiment_id, strategy
        self.contaminated = contaminated
        self.seen: set[str] = set()
        self.kept = 0
        self.parsed = 0
        self.duplicates = 0
        self.dirty = 0
        self._last_id = 0

    def count(self) -> int:
        """Fold in the problems stored since the last call; the unique clean total."""
        rows = self.db.execute(
            "SELECT id, text FROM problems WHERE experiment_id = ? AND strategy = ? "
            "AND status = 'ok' AND id > ? ORDER BY id",
            [self.experiment_id, self.strategy, self._last_id],
        ).fetchall()
        if not rows:
            return self.kept
        self._last_id = int(rows[-1][0])
        fresh: list[str] = []
        for _, text in rows:
            self.parsed += 1
            key = normalize(str(text))
            if key in self.seen:
                self.duplicates += 1
                continue
            self.seen.add(key)
            fresh.append(str(text))
        flags = self.contaminated(fresh) if fresh else []
        dirty = sum(flags)
        self.dirty += dirty
        self.kept += len(fresh) - dirty
        return self.kept


def contamination_check(
    config: ExperimentConfig, data_dir: str | None
) -> Callable[[list[str]], list[bool]]:
    """A function flagging texts that hold >= `filter.decontam_max` of a benchmark item's
    n-grams, against the experiment's `filter.decontam_against` benchmarks.

    Fill-to-target cannot count clean problems without its references, so a benchmark that
    cannot be loaded is an error naming the fix (never a silent skip).
    """
    names = list(config.filter.decontam_against)
    if not names:
        return lambda texts: [False] * len(texts)
    try:
        items = load_benchmarks(names, data_dir)
    except FlamesError as exc:
        raise ConfigError(
            f"budget_mode = 'kept' counts problems that survive decontamination, but the "
            f"benchmarks of filter.decontam_against could not be loaded: {exc}"
        ) from None
    index = NgramIndex(items, n=config.filter.ngram)
    threshold = config.filter.decontam_max

    def check(texts: list[str]) -> list[bool]:
        matches = index.match(texts)
        return [bool(share >= threshold) for share in matches.overlap]

    return check
