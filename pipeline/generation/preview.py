"""Render a prompt template on real inputs: stored seeds or a taxonomy pick.

`flames strategies preview` and the Strategies screen show what the model would see. The
variables come from the same `initial_variables` the generator uses, on a slot built from
the workspace's own seeds (the working experiment's seed sets when given), so a preview
never calls a model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlite_utils import Database

from pipeline.errors import InputError
from pipeline.generation.runner import Slot, initial_variables
from pipeline.generation.slots import seed_targets
from pipeline.seeds.sampling import Seed
from pipeline.strategies import Strategy, get_strategy
from pipeline.strategies.prompts import current_templates
from pipeline.strategies.template import placeholders, render
from storage.seeds import seed_by_id, seed_set_id, seeds_in_rotation


def preview_prompt(
    db: Database,
    strategy: Strategy | str,
    stage: str | None = None,
    seed_id: int | None = None,
    *,
    body: str | None = None,
    params: Mapping[str, Any] | None = None,
    offset: int = 0,
    seed_sets: Sequence[str] = (),
) -> str:
    """A stage's prompt rendered on a real input.

    Args:
        stage: the stage to render (default: the first).
        seed_id: render on this seed (default: the `offset`-th seed).
        body: the template text (default: the stage's current template; the TUI passes
            the editor's unsaved text).
        params: the experiment's params for the strategy (validated; default: defaults).
        offset: which input: rotates through the seeds, or walks the taxonomy.
        seed_sets: take seeds from these sets only (the working experiment's).

    Variables that earlier stages would produce show as `[name from an earlier stage]`.
    Raises InputError when there is no seed to render on.
    """
    strategy = get_strategy(strategy) if isinstance(strategy, str) else strategy
    prompted = [s.name for s in strategy.stages if s.kind != "train"]
    stage = stage or prompted[0]
    if stage not in prompted:
        raise InputError(
            f"strategy {strategy.name} has no prompted stage '{stage}' "
            f"(stages with a prompt: {', '.join(prompted)})"
        )
    checked = strategy.validate_params(strategy.defaults() if params is None else params)
    if body is None:
        body = current_templates(db, strategy)[stage].body
    variables = initial_variables(
        strategy, _slot(db, strategy, checked, offset, seed_id, seed_sets), checked
    )
    variables.setdefault("round", "1")
    for name in placeholders(body):
        variables.setdefault(name, f"[{name} from an earlier stage]")
    return render(body, variables)


def _slot(
    db: Database,
    strategy: Strategy,
    params: Mapping[str, Any],
    offset: int,
    seed_id: int | None,
    seed_sets: Sequence[str],
) -> Slot:
    """The preview's inputs: a taxonomy pick, or real seeds."""
    if strategy.inputs == "taxonomy":
        from pipeline.taxonomy.tree import load_taxonomy
        from pipeline.taxonomy.walker import walk

        return Slot("preview", pick=walk(load_taxonomy(), offset + 1, seed="preview")[-1])
    if strategy.inputs not in ("seed", "seed_answer"):
        return Slot("preview")  # seedless (QFT's prompt shows no seed either)
    if seed_id is not None:
        found = seed_by_id(db, seed_id)
        if found is None:
            raise InputError(f"no seed with id {seed_id}")
        return _seed_slot(strategy, params, Seed(*found))
    missing = [name for name in seed_sets if seed_set_id(db, name) is None]
    if missing:
        raise InputError(
            f"seed set '{missing[0]}' of this experiment is not imported yet: "
            f"flames seeds import SOURCE --name {missing[0]}"
        )
    rows = seeds_in_rotation(db, seed_sets, offset, 1)
    if not rows:
        raise InputError("no seeds to preview on: import some with `flames seeds import`")
    return _seed_slot(strategy, params, Seed(*rows[0]))


def _seed_slot(strategy: Strategy, params: Mapping[str, Any], seed: Seed) -> Slot:
    """A slot on `seed`; Ask Me Anything's first slot hides the seed's first number."""
    if strategy.yields == "each_number":
        targets = seed_targets(strategy, seed, params)
        return Slot("preview", seed=seed, target=targets[0] if targets else None)
    return Slot("preview", seed=seed)
