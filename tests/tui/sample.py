"""A small, deterministic workspace written with direct inserts (no model, no other stages).

Shared by the TUI tests, the blend/jobs unit tests and the 1M-row benchmark.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from sqlite_utils import Database

from storage.database import open_db

STRATEGIES = (
    "suggester_editor",
    "iqc",
    "taxonomy_key_concepts",
    "distraction_insertion",
    "paraphrase",
)
WORDS = (
    "apples",
    "train",
    "speed",
    "triangle",
    "area",
    "sum",
    "integers",
    "prime",
    "ratio",
    "marbles",
    "box",
    "minutes",
    "circle",
    "radius",
    "probability",
    "dice",
    "coins",
)


def problem_text(i: int, rng: random.Random) -> str:
    """A short, varied, searchable problem statement."""
    words = " ".join(rng.choice(WORDS) for _ in range(8))
    return f"Problem {i}: {words}. If x = {i % 97} and y = {i % 13}, what is x + y?"


def build_workspace(
    path: str | Path, n_problems: int = 60, *, with_solutions: bool = True, seed: int = 7
) -> Database:
    """Create a workspace with one experiment 'demo', seeds, problems and their scores."""
    db = open_db(path)
    rng = random.Random(seed)
    conn = db.conn
    conn.execute("BEGIN")
    conn.execute("INSERT INTO seed_sets (id, name, source) VALUES (1, 'gsm8k-mini', 'test')")
    conn.executemany(
        "INSERT INTO seeds (id, seed_set_id, source_line, question, answer, content_hash) "
        "VALUES (?, 1, ?, ?, ?, ?)",
        [
            (
                i,
                i,
                f"Seed question {i}: Tom has {i} apples and buys {i + 2} more.",
                str(2 * i + 2),
                f"h{i}",
            )
            for i in range(1, 11)
        ],
    )
    conn.execute(
        "INSERT INTO experiments (id, name, preset, config_toml, config_json) "
        "VALUES (1, 'demo', 'quickstart', '', '{}')"
    )
    conn.execute("INSERT INTO arms (id, experiment_id, name, is_baseline) VALUES (1, 1, 'base', 1)")
    for name in STRATEGIES:
        conn.execute(
            "INSERT INTO strategies (name, definition_json) VALUES (?, ?)",
            [name, json.dumps({"stages": ["write"], "inputs": "seed", "params": {"rounds": 2}})],
        )
        conn.execute(
            "INSERT INTO templates (strategy, stage, version, body, note) "
            "VALUES (?, 'write', 1, ?, 'initial')",
            [name, "Write a harder problem based on: {seed_question}"],
        )
    problems, scores, solutions, stages, requests = [], [], [], [], []
    for i in range(1, n_problems + 1):
        strategy = STRATEGIES[i % len(STRATEGIES)]
        status = "rejected" if i % 29 == 0 else "ok"
        problems.append(
            (
                i,
                strategy,
                (i % 10) + 1,
                problem_text(i, rng),
                status,
                str((i % 97) + (i % 13)),
                "gen-model",
                f"h{i}",
            )
        )
        agree = i % 3 != 0
        scores.append(
            (
                i,
                3,
                1 if agree else 2,
                "7" if agree else "8",
                1.0 if agree else 0.67,
                "7",
                1,
                1 if agree else 0,
                round(rng.random(), 3),
                round(rng.random(), 3),
                round(rng.random() * 0.5, 3),
                i - 1 if i > 1 else None,
                json.dumps({"benchmark": "gsm8k", "item": 3, "text": "Tom has apples"})
                if i % 17 == 0
                else None,
            )
        )
        if with_solutions:
            for k in range(3):
                answer = "7" if (agree or k == 0) else "8"
                verdict = ("correct", "incorrect", "unverifiable")[(i + k) % 3]
                solutions.append(
                    (
                        i,
                        "teacher",
                        k,
                        f"Step 1 ... so the answer is {answer}.",
                        answer,
                        "the_answer_is",
                        verdict,
                    )
                )
            requests.append((f"req{i}", "gen-model", "{}", "prompt", "done", f"raw response {i}"))
            stages.append((i, "write", 0, f"req{i}", json.dumps({"problem": f"draft {i}"})))
    conn.executemany(
        "INSERT INTO problems (id, experiment_id, arm_id, strategy, seed_id, text, status, "
        "reference_answer, model, content_hash) VALUES (?, 1, 1, ?, ?, ?, ?, ?, ?, ?)",
        problems,
    )
    conn.executemany(
        "INSERT INTO scores (problem_id, n_solutions, n_groups, majority_answer, majority_share, "
        "first_answer, first_is_majority, all_agree, judge_score, nn_sim, decontam_overlap, "
        "nn_id, decontam_match) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        scores,
    )
    conn.execute("UPDATE scores SET dup_of_sim = nn_sim")  # each neighbour outranks here
    conn.executemany(
        "INSERT INTO solutions (problem_id, model, sample_index, text, extracted_answer, "
        "extract_rule, verdict) VALUES (?,?,?,?,?,?,?)",
        solutions,
    )
    conn.executemany(
        "INSERT INTO requests (key, model, params_json, prompt, status, response) "
        "VALUES (?,?,?,?,?,?)",
        requests,
    )
    conn.executemany(
        "INSERT INTO stage_outputs (problem_id, stage, round, request_key, parsed_json) "
        "VALUES (?,?,?,?,?)",
        stages,
    )
    if n_problems >= 3:
        conn.execute("INSERT INTO duplicates (problem_id, other_id, score) VALUES (2, 3, 0.91)")
    conn.execute("COMMIT")
    return db
