"""Render a prompt template on real inputs: stored seeds or a taxonomy pick.

The Strategies screen shows what the model would see. The variables come from the same
`initial_variables` the generator uses, on a slot built from the workspace's own seeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlite_utils import Database

from pipeline.errors import InputError
from pipeline.generation.runner import Slot, initial_variables
from pipeline.seeds.sampling import Seed
from pipeline.strategies import Strategy, get_strategy
from pipeline.strategies.prompts import current_templates
from pipeline.strategies.template import render


def _seeds(db: Database, offset: int, count: int) -> tuple[Seed, ...]:
    total = int(db.execute("SELECT COUNT(*) FROM seeds").fetchone()[0])
    if total == 0:
        return ()
    rows = db.execute(
        "SELECT seeds.id, seed_sets.name, question, answer, solution FROM seeds "
        "JOIN seed_sets ON seed_sets.id = seeds.seed_set_id ORDER BY seeds.id LIMIT ? OFFSET ?",
        [count, offset % total],
    ).fetchall()
    return tuple(Seed(int(r[0]), str(r[1]), str(r[2]), r[3], r[4]) for r in rows)


def preview_variables(
    db: Database, strategy_name: str, params: Mapping[str, Any], offset: int = 0
) -> dict[str, str] | None:
    """The first stage's variables for a real input; None when the input is missing."""
    strategy = get_strategy(strategy_name)
    checked = strategy.validate_params(params)
    pick = None
    seeds: tuple[Seed, ...] = ()
    if strategy.inputs == "taxonomy":
        from pipeline.taxonomy.tree import load_taxonomy
        from pipeline.taxonomy.walker import walk

        pick = walk(load_taxonomy(), offset + 1, seed="preview")[-1]
    elif strategy.inputs != "none":
        seeds = _seeds(db, offset, int(checked.get("k", 1)) if strategy.inputs == "seeds" else 1)
        if not seeds:
            return None
    return initial_variables(strategy, Slot(key="preview", seeds=seeds, pick=pick), checked)


def render_preview(
    db: Database, strategy_name: str, body: str, params: Mapping[str, Any], offset: int = 0
) -> str:
    """`body` rendered on the `offset`-th real input, or a note saying what is missing."""
    variables = preview_variables(db, strategy_name, params, offset)
    if variables is None:
        return "(no seeds in this workspace: import some with `flames seeds import`)"
    return render(body, variables)


def preview_prompt(db: Database, strategy: Strategy, stage: str, seed_id: int | None = None) -> str:
    """The stage's latest template rendered on a real seed (or the first taxonomy pick).

    Variables that earlier stages would produce are shown as `[name from an earlier
    stage]`, so the preview never calls a model.
    """
    from pipeline.strategies.template import placeholders
    from pipeline.taxonomy import load_taxonomy, walk

    try:
        strategy.stage(stage)
    except KeyError:
        names = ", ".join(s.name for s in strategy.stages)
        raise InputError(
            f"strategy {strategy.name} has no stage '{stage}' (stages: {names})"
        ) from None
    body = current_templates(db, strategy)[stage].body
    slot = Slot("preview")
    if strategy.inputs == "taxonomy":
        slot = Slot("preview", pick=walk(load_taxonomy(), 1, seed=0)[0])
    elif strategy.inputs != "none":
        sql = "SELECT id, question, answer, solution FROM seeds"
        rows = db.execute(
            sql + (" WHERE id = ?" if seed_id is not None else " ORDER BY id LIMIT ?"),
            [seed_id if seed_id is not None else 3],
        ).fetchall()
        if not rows:
            raise InputError(
                "no seeds to preview on: import some with `flames seeds import`"
                if seed_id is None
                else f"no seed with id {seed_id}"
            )
        seeds = tuple(Seed(int(r[0]), "", r[1], r[2], r[3]) for r in rows)
        slot = Slot("preview", seeds=seeds if strategy.inputs == "seeds" else seeds[:1])
    variables = initial_variables(strategy, slot, strategy.defaults())
    variables["round"] = "1"
    for name in placeholders(body):
        variables.setdefault(name, f"[{name} from an earlier stage]")
    return render(body, variables)
