"""`flames reward EXPERIMENT`: score every teacher solution with the reward model (resumable)."""

from __future__ import annotations

import click

from pipeline.errors import FlamesError
from pipeline.experiments.store import load_experiment
from pipeline.solving.reward import load_scorer, score_rewards
from workbench.cli.options import db_option, open_workspace
from workbench.cli.progress import reporter_bar


@click.command(name="reward")
@click.argument("experiment")
@click.option(
    "--rescore", is_flag=True, help="Score every solution again, even those already scored."
)
@db_option
def command(experiment: str, rescore: bool, db_path: str) -> None:
    """Score EXPERIMENT's teacher solutions with its [models.reward] model.

    The scores feed the judge_reward policy (train on the best-rewarded of the k solutions).
    Resumable: solutions this reward model already scored are skipped; Ctrl-C keeps every
    finished chunk.
    """
    db = open_workspace(db_path)
    config = load_experiment(db, experiment)
    if config.models.reward is None:
        raise FlamesError(
            f"experiment '{experiment}' has no [models.reward]: name a reward model, e.g. "
            'backend = "openai", base_urls = ["http://127.0.0.1:8000/v1"], model = "NAME" '
            "(vllm serve NAME --runner pooling), or a sequence-classification checkpoint "
            'with backend = "transformers"'
        )
    scorer = load_scorer(config.models.reward)
    try:
        with reporter_bar("reward") as progress:
            report = score_rewards(db, experiment, scorer, rescore=rescore, progress=progress)
    finally:
        scorer.close()
    click.echo(
        f"{report.model}: {report.scored} solutions scored, {report.failed} without a score "
        f"({report.todo} were waiting)"
    )
    if report.failed:
        click.echo("run the same command again to retry the solutions without a score", err=True)
        raise SystemExit(1)
