"""Selection: which generated problems are kept, as a query over stored signals.

One home for the concept: `policy` (the policies' table: SQL and numpy forms side by side,
and the rule that picks each policy's training solution), `selection` (the `Selection` type,
whose defaults are the experiment's `[filter]` config), `counts` (SQL counts and ids) and
`index` (the numpy snapshot behind the Filters screen). Nothing here deletes or regenerates
anything.
"""

from pipeline.config.schema import Policy
from pipeline.selection.counts import (
    SCORE_COLUMNS,
    StrategyCount,
    examples_near,
    kept_dropped,
    kept_ids,
    score_histogram,
    strategy_counts,
    truncated_counts,
)
from pipeline.selection.policy import (
    JUDGE_SOLVABLE,
    RULES,
    is_truncated,
    needs_judge,
    needs_reward,
    training_solution_sql,
)
from pipeline.selection.selection import (
    FIELDS,
    FLAGS,
    HELP,
    JOINS,
    NEAR_DUP_COLUMN,
    THRESHOLD_COLUMNS,
    THRESHOLD_KINDS,
    THRESHOLDS,
    Selection,
    experiment_selection,
    flag_of,
    kept_condition,
)

__all__ = [
    "FIELDS",
    "FLAGS",
    "HELP",
    "JOINS",
    "JUDGE_SOLVABLE",
    "NEAR_DUP_COLUMN",
    "RULES",
    "SCORE_COLUMNS",
    "THRESHOLDS",
    "THRESHOLD_COLUMNS",
    "THRESHOLD_KINDS",
    "Policy",
    "Selection",
    "StrategyCount",
    "examples_near",
    "experiment_selection",
    "flag_of",
    "is_truncated",
    "kept_condition",
    "kept_dropped",
    "kept_ids",
    "needs_judge",
    "needs_reward",
    "score_histogram",
    "strategy_counts",
    "training_solution_sql",
    "truncated_counts",
]
