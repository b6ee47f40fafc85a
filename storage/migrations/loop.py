"""Migrations 0007-0011: the second half of the loop (student traces, training runs,
evaluation, the run's stage graph) and the supervision of unattended jobs."""

from __future__ import annotations

from sqlite_utils import Database

from storage.migrations.registry import migrations, run_script


@migrations(name="0007_training_data")
def training_data(db: Database) -> None:
    """Sampled student traces, their steps and Monte-Carlo rollouts (RFT, DPO, per-step DPO).

    A trace set is one sampling of a student over an experiment's problems (or the traces of
    one input file). Per-step DPO splits a trace into steps and rolls out K continuations of
    every prefix: `traces.q0` is the value of the empty prefix, `steps.q` the value after that
    step (best-of-K, 1/0) with its success rate, `traces.critical_step` the first step whose
    value is 0. Rollout texts stay in `requests` (joined on the key), as for every response.
    """
    run_script(
        db,
        """
        CREATE TABLE trace_sets (
            id INTEGER PRIMARY KEY,
            -- hash of what identifies the set (experiment, arm, model, params; or file bytes)
            key TEXT NOT NULL UNIQUE,
            -- NULL for the traces of a file (`flames pairs step-dpo`)
            experiment_id INTEGER REFERENCES experiments(id) ON DELETE CASCADE,
            -- NULL: the experiment's base config
            arm TEXT,
            -- the sampling model; NULL when the traces came from a file
            model TEXT,
            params_json TEXT NOT NULL DEFAULT '{}',
            -- the input file of a file set
            source TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        );
        CREATE TABLE traces (
            id INTEGER PRIMARY KEY,
            set_id INTEGER NOT NULL REFERENCES trace_sets(id) ON DELETE CASCADE,
            problem_id INTEGER REFERENCES problems(id) ON DELETE CASCADE,
            -- the problem id as text, or the `id` of the file line
            item TEXT NOT NULL,
            -- file items only: problems keep their own text
            question TEXT,
            sample_index INTEGER NOT NULL DEFAULT 0,
            -- NULL when the trace came from a file
            request_key TEXT,
            text TEXT NOT NULL,
            finish_reason TEXT,
            extracted_answer TEXT,
            extract_rule TEXT,
            -- the answer graded against, and where it came from: reference | majority | file
            reference TEXT,
            reference_source TEXT,
            verdict TEXT CHECK (verdict IN ('correct', 'incorrect', 'unverifiable')),
            -- binary reward: 1 correct, 0 incorrect, NULL unknown
            label INTEGER,
            -- per-step DPO; NULL until the trace is rolled out
            split TEXT,
            n_steps INTEGER,
            q0 INTEGER,
            success0 REAL,
            -- 1-based first step with Q = 0 (the first pit); NULL when none was found
            critical_step INTEGER,
            -- pending | skipped (Q(0) = 0) | pit | no_pit | no_steps
            rollout_status TEXT,
            rollout_model TEXT,
            UNIQUE (set_id, item, sample_index)
        );
        CREATE INDEX traces_problem ON traces(problem_id);
        CREATE INDEX traces_set_label ON traces(set_id, label);
        CREATE TABLE steps (
            trace_id INTEGER NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
            -- 1-based position in the trace
            step INTEGER NOT NULL,
            -- character offsets of the step in traces.text: text[start:end]
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            text TEXT NOT NULL,
            -- best-of-K value of the prefix ending with this step (1/0); NULL: not rolled out
            q INTEGER,
            success_rate REAL,
            PRIMARY KEY (trace_id, step)
        ) WITHOUT ROWID;
        CREATE TABLE rollouts (
            trace_id INTEGER NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
            -- steps in the prefix that was continued (0: the problem alone)
            prefix INTEGER NOT NULL,
            -- rollout number 0..K-1
            k INTEGER NOT NULL,
            request_key TEXT NOT NULL,
            finish_reason TEXT,
            extracted_answer TEXT,
            verdict TEXT CHECK (verdict IN ('correct', 'incorrect', 'unverifiable')),
            label INTEGER,
            PRIMARY KEY (trace_id, prefix, k)
        ) WITHOUT ROWID
        """,
    )


@migrations(name="0008_training")
def training(db: Database) -> None:
    """Training runs, their logged metrics (one row per step and name) and checkpoints.

    Metrics are narrow rows so a live curve is one indexed range scan
    (`WHERE run_id = ? AND name = 'loss' AND step > ?`) and a new TRL metric needs no
    schema change. One run per output folder: running the same command again resumes it.
    """
    run_script(
        db,
        """
        CREATE TABLE training_runs (
            id INTEGER PRIMARY KEY,
            experiment_id INTEGER REFERENCES experiments(id) ON DELETE SET NULL,
            arm_id INTEGER REFERENCES arms(id) ON DELETE SET NULL,
            -- sft | rft | dpo | step_dpo (the recipe); trainer: the TRL trainer that ran (sft | dpo)
            method TEXT NOT NULL,
            trainer TEXT NOT NULL CHECK (trainer IN ('sft', 'dpo')),
            base_model TEXT NOT NULL,
            dataset_path TEXT NOT NULL,
            dataset_sha256 TEXT NOT NULL,
            dataset_rows INTEGER NOT NULL,
            -- the whole training spec, JSON (LoRA, steps, batch, learning rate, accelerate config)
            config_json TEXT NOT NULL,
            output_dir TEXT NOT NULL UNIQUE,
            job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
            status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
            error TEXT,
            total_steps INTEGER,
            last_step INTEGER NOT NULL DEFAULT 0,
            last_checkpoint TEXT,
            -- best-of-K checkpoint selection; selection_on_eval = 1 when it used the sets reported
            best_checkpoint TEXT,
            best_step INTEGER,
            best_score REAL,
            selection_benchmarks TEXT,
            selection_on_eval INTEGER,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            started_at TEXT,
            ended_at TEXT
        );
        CREATE INDEX training_runs_experiment ON training_runs(experiment_id, arm_id);
        CREATE TABLE training_metrics (
            run_id INTEGER NOT NULL REFERENCES training_runs(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            step INTEGER NOT NULL,
            value REAL NOT NULL,
            PRIMARY KEY (run_id, name, step)
        ) WITHOUT ROWID;
        CREATE TABLE training_checkpoints (
            run_id INTEGER NOT NULL REFERENCES training_runs(id) ON DELETE CASCADE,
            step INTEGER NOT NULL,
            path TEXT NOT NULL,
            -- {benchmark: accuracy} from checkpoint selection; score: their mean
            scores_json TEXT,
            score REAL,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            PRIMARY KEY (run_id, step)
        )
        """,
    )


@migrations(name="0009_evaluation")
def evaluation(db: Database) -> None:
    """Evaluation runs (one model x one benchmark) and their per-item results.

    A run is identified by `run_key` (a hash of model, checkpoint, benchmark items, prompt
    and sampling, and the experiment/arm/role it belongs to): the same eval again resumes
    or reuses that run. `outcomes` packs the items' correct flags (one byte each, in item
    order) when the run finishes, so a results table over millions of items reads a few
    kilobytes per run instead of every item row.
    """
    run_script(
        db,
        """
        CREATE TABLE eval_runs (
            id INTEGER PRIMARY KEY,
            run_key TEXT NOT NULL UNIQUE,
            experiment_id INTEGER REFERENCES experiments(id) ON DELETE CASCADE,
            arm_id INTEGER REFERENCES arms(id) ON DELETE SET NULL,
            -- arm: an arm's student; base: the experiment's base student; model: a bare model
            role TEXT NOT NULL CHECK (role IN ('arm', 'base', 'model')),
            model TEXT NOT NULL,
            backend TEXT NOT NULL,
            -- the id in the request cache keys (backend.model_id)
            model_id TEXT NOT NULL,
            training_run_id INTEGER REFERENCES training_runs(id) ON DELETE SET NULL,
            checkpoint TEXT,
            checkpoint_step INTEGER,
            benchmark TEXT NOT NULL,
            -- where the items came from (file, hf: id, package) and their digest
            benchmark_source TEXT NOT NULL,
            items_digest TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            prompt_json TEXT NOT NULL,
            params_json TEXT NOT NULL,
            item_limit INTEGER,
            status TEXT NOT NULL CHECK (status IN ('running', 'done', 'incomplete')),
            n_items INTEGER NOT NULL,
            n_graded INTEGER NOT NULL DEFAULT 0,
            n_correct INTEGER NOT NULL DEFAULT 0,
            -- items whose request failed (counted wrong; retried by the next run)
            n_failed INTEGER NOT NULL DEFAULT 0,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            seconds REAL NOT NULL DEFAULT 0,
            outcomes BLOB,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            finished_at TEXT
        );
        CREATE INDEX eval_runs_experiment ON eval_runs(experiment_id, role, arm_id, benchmark);
        CREATE INDEX eval_runs_training ON eval_runs(training_run_id);
        CREATE TABLE eval_items (
            run_id INTEGER NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
            -- 0-based position in the benchmark: pairs the same item across runs
            item_index INTEGER NOT NULL,
            item_id TEXT,
            subject TEXT,
            level TEXT,
            subset TEXT,
            question TEXT NOT NULL,
            gold TEXT,
            request_key TEXT,
            output TEXT,
            finish_reason TEXT,
            completion_tokens INTEGER,
            extracted TEXT,
            extract_rule TEXT,
            verdict TEXT NOT NULL CHECK (verdict IN ('correct', 'incorrect', 'unverifiable', 'failed')),
            reason TEXT,
            correct INTEGER NOT NULL,
            PRIMARY KEY (run_id, item_index)
        )
        """,
    )


@migrations(name="0010_job_supervision")
def job_supervision(db: Database) -> None:
    """Process identities, stage locks, failure counts, cut responses and staged seed imports.

    A pid alone is not a process: after a reboot or a long time it names another one. Rows
    that point at a process also keep its start time (psutil `create_time`), and nothing is
    signalled or reported running unless both match.
    """
    run_script(
        db,
        """
        -- the runner process (pid) and the command it runs (child), each with its start time
        ALTER TABLE jobs ADD COLUMN pid_started REAL;
        ALTER TABLE jobs ADD COLUMN child_pid INTEGER;
        ALTER TABLE jobs ADD COLUMN child_started REAL;
        -- units that ended in failure (a job that exits 3 is "done with N failures")
        ALTER TABLE jobs ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
        -- the latest progress line (stage and detail) for the job list and the TUI
        ALTER TABLE jobs ADD COLUMN progress_detail TEXT;
        -- one row per stage running on an experiment (or seed set) right now
        CREATE TABLE stage_locks (
            name TEXT PRIMARY KEY,
            pid INTEGER NOT NULL,
            pid_started REAL NOT NULL,
            job_id INTEGER,
            command TEXT,
            acquired_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        );
        -- why a stored response was cut (the model's reply passed max_response_bytes)
        ALTER TABLE requests ADD COLUMN cut_reason TEXT;
        -- a seed set being imported stays invisible (and under a hidden name) until ready
        ALTER TABLE seed_sets ADD COLUMN status TEXT NOT NULL DEFAULT 'ready'
            CHECK (status IN ('importing', 'ready'))
        """,
    )


@migrations(name="0011_arm_stages")
def arm_stages(db: Database) -> None:
    """The run's stage graph: one row per stage node, which arms use it, arm membership.

    A node is a stage run with one set of inputs: its `key` hashes the config subset the
    stage reads plus what its upstream nodes produced, so arms with the same inputs share
    the node and a rerun skips every node already `done` under the same key.
    """
    run_script(
        db,
        """
        CREATE TABLE flow_stages (
            id INTEGER PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
            stage TEXT NOT NULL,
            key TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'done', 'failed')),
            -- the config subset the key hashes, JSON (shown by `flames run --plan`)
            inputs_json TEXT NOT NULL DEFAULT '{}',
            -- what the node made: a digest for its dependents, paths, run ids, counts (JSON)
            output_json TEXT,
            summary TEXT,
            error TEXT,
            started_at TEXT,
            ended_at TEXT,
            UNIQUE (experiment_id, stage, key)
        );
        CREATE TABLE flow_arm_stages (
            experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
            arm TEXT NOT NULL,
            stage TEXT NOT NULL,
            flow_stage_id INTEGER NOT NULL REFERENCES flow_stages(id) ON DELETE CASCADE,
            PRIMARY KEY (experiment_id, arm, stage)
        );
        -- A problem can belong to several arms (their strategy plans overlap), so
        -- `problems.arm_id` cannot say it: membership is this table, filled per arm.
        CREATE TABLE arm_problems (
            experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
            arm TEXT NOT NULL,
            problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
            PRIMARY KEY (experiment_id, arm, problem_id)
        ) WITHOUT ROWID;
        CREATE INDEX arm_problems_problem ON arm_problems(problem_id)
        """,
    )
