"""The workspace schema as forward-only migrations (sqlite-utils `Migrations`).

Never edit a migration that has shipped: add a new one. `tests/unit/test_migrations.py`
upgrades a database made at every earlier version to the newest.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("flames")


def _run(db: Database, script: str) -> None:
    """Run each statement on the migration's transaction (executescript would commit it)."""
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


@migrations(name="0001_core")
def core(db: Database) -> None:
    """Seeds, experiments, strategies, the LLM request cache, problems and their signals."""
    _run(
        db,
        """
        CREATE TABLE seed_sets (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,            -- path, hf:ORG/NAME:SPLIT or champ
            question_field TEXT,
            answer_field TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        );
        CREATE TABLE seeds (
            id INTEGER PRIMARY KEY,
            seed_set_id INTEGER NOT NULL REFERENCES seed_sets(id) ON DELETE CASCADE,
            source_line INTEGER NOT NULL,    -- 1-based line/row in the source
            question TEXT NOT NULL,
            answer TEXT,                     -- final answer (extracted) when known
            solution TEXT,                   -- worked solution when the source has one
            meta TEXT NOT NULL DEFAULT '{}', -- the other source fields, JSON
            content_hash TEXT NOT NULL,
            UNIQUE (seed_set_id, content_hash)
        );
        CREATE TABLE experiments (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            preset TEXT,
            config_toml TEXT NOT NULL,       -- the validated config as written by the user
            config_json TEXT NOT NULL,       -- the same, normalised with defaults filled in
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        );
        CREATE TABLE arms (
            id INTEGER PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            factor TEXT,                     -- what this arm varies (strategy, policy, blend, ...)
            is_baseline INTEGER NOT NULL DEFAULT 0,
            overrides_json TEXT NOT NULL DEFAULT '{}',
            UNIQUE (experiment_id, name)
        );
        CREATE TABLE strategies (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            definition_json TEXT NOT NULL,   -- stages, inputs, params schema, answer rule
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        );
        CREATE TABLE templates (
            id INTEGER PRIMARY KEY,
            strategy TEXT NOT NULL,          -- strategy name, or 'solver' / 'judge'
            stage TEXT NOT NULL,
            version INTEGER NOT NULL,
            body TEXT NOT NULL,
            note TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            UNIQUE (strategy, stage, version)
        );
        CREATE TABLE requests (
            key TEXT PRIMARY KEY,            -- sha256 of (model, prompt, params, sample index)
            model TEXT NOT NULL,
            params_json TEXT NOT NULL,
            sample_index INTEGER NOT NULL DEFAULT 0,
            prompt TEXT NOT NULL,            -- rendered prompt, or chat messages as JSON
            status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
            response TEXT,                   -- raw text, never parsed here
            finish_reason TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            latency_s REAL,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            completed_at TEXT
        );
        CREATE INDEX requests_status ON requests(status);
        CREATE TABLE problems (
            id INTEGER PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
            arm_id INTEGER REFERENCES arms(id) ON DELETE SET NULL,
            strategy TEXT NOT NULL,
            seed_id INTEGER REFERENCES seeds(id) ON DELETE SET NULL,
            taxonomy_node TEXT,
            text TEXT NOT NULL,              -- the problem ('' when rejected before a problem existed)
            reference_answer TEXT,           -- kept from or derived from the seed, else NULL
            answer_rule TEXT NOT NULL DEFAULT 'none' CHECK (answer_rule IN ('keeps', 'derives', 'none')),
            status TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'rejected')),
            reject_reason TEXT,
            template_version TEXT,           -- JSON {stage: version}
            model TEXT,
            params_json TEXT,
            request_keys TEXT NOT NULL DEFAULT '[]',
            content_hash TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        );
        CREATE INDEX problems_experiment ON problems(experiment_id, strategy, status);
        CREATE INDEX problems_hash ON problems(experiment_id, content_hash);
        CREATE TABLE stage_outputs (
            id INTEGER PRIMARY KEY,
            problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
            stage TEXT NOT NULL,
            round INTEGER NOT NULL DEFAULT 0,
            request_key TEXT REFERENCES requests(key),
            parsed_json TEXT,                -- what the parser took from the raw response
            UNIQUE (problem_id, stage, round)
        );
        CREATE TABLE solutions (
            id INTEGER PRIMARY KEY,
            problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            sample_index INTEGER NOT NULL,
            request_key TEXT REFERENCES requests(key),
            text TEXT NOT NULL,
            extracted_answer TEXT,
            extract_rule TEXT,               -- boxed, hash, the_answer_is, bare, last_latex, last_number, none
            verdict TEXT CHECK (verdict IN ('correct', 'incorrect', 'unverifiable')),
            label INTEGER,                   -- binary reward: 1 positive, 0 negative, NULL unknown
            UNIQUE (problem_id, model, sample_index)
        );
        CREATE TABLE scores (
            problem_id INTEGER PRIMARY KEY REFERENCES problems(id) ON DELETE CASCADE,
            n_solutions INTEGER,
            n_groups INTEGER,
            groups_json TEXT,                -- [[answer, size], ...] largest first
            majority_answer TEXT,
            majority_share REAL,
            first_answer TEXT,
            first_is_majority INTEGER,
            all_agree INTEGER,
            reference_agrees INTEGER,        -- NULL when the strategy gives no reference answer
            judge_score REAL,
            problem_chars INTEGER,
            solution_chars_mean REAL,
            is_exact_dup INTEGER,            -- 1 when an earlier problem has the same normalised text
            nn_id INTEGER,                   -- nearest kept neighbour
            nn_sim REAL,                     -- its similarity, 0..1
            cluster_id INTEGER,              -- representative problem id of its cluster
            decontam_overlap REAL,           -- max n-gram containment of any benchmark item, 0..1
            decontam_match TEXT,             -- JSON {benchmark, item, text}
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        );
        CREATE TABLE duplicates (
            problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
            other_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
            score REAL NOT NULL,
            PRIMARY KEY (problem_id, other_id)
        );
        CREATE TABLE blends (
            id INTEGER PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            ratios_json TEXT NOT NULL,
            total INTEGER NOT NULL,
            filters_json TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            UNIQUE (experiment_id, name)
        );
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,              -- generate, solve, train, eval, ...
            experiment_id INTEGER REFERENCES experiments(id) ON DELETE SET NULL,
            command TEXT NOT NULL,           -- the exact CLI command line
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
            pid INTEGER,
            progress_done INTEGER NOT NULL DEFAULT 0,
            progress_total INTEGER,
            log_path TEXT,
            exit_code INTEGER,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            started_at TEXT,
            ended_at TEXT
        );
        CREATE TABLE job_events (
            id INTEGER PRIMARY KEY,
            job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            ts TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            kind TEXT NOT NULL,              -- progress, log, status
            message TEXT,
            data_json TEXT
        );
        CREATE INDEX job_events_job ON job_events(job_id, id);
        """,
    )


@migrations(name="0002_search_and_score_indexes")
def search_and_score_indexes(db: Database) -> None:
    """Full-text search over problem text; indexes that keep filter queries instant."""
    db.table("problems").enable_fts(["text"], create_triggers=True, tokenize="porter")
    _run(
        db,
        """
        CREATE INDEX scores_nn_sim ON scores(nn_sim);
        CREATE INDEX scores_decontam ON scores(decontam_overlap);
        CREATE INDEX scores_judge ON scores(judge_score);
        CREATE INDEX solutions_problem ON solutions(problem_id);
        CREATE INDEX duplicates_other ON duplicates(other_id);
        """,
    )


@migrations(name="0003_tui")
def tui(db: Database) -> None:
    """Workbench settings (theme, last screen) and manual keep/drop/flag marks on problems."""
    _run(
        db,
        """
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        );
        CREATE TABLE marks (
            problem_id INTEGER PRIMARY KEY REFERENCES problems(id) ON DELETE CASCADE,
            mark TEXT NOT NULL CHECK (mark IN ('keep', 'drop', 'flag')),
            note TEXT,
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        );
        CREATE INDEX jobs_status ON jobs(status)
        """,
    )


@migrations(name="0004_problem_slots")
def strategies(db: Database) -> None:
    """A slot key per generated problem, unique per experiment, so `generate` reruns upsert."""
    _run(
        db,
        """
        ALTER TABLE problems ADD COLUMN slot_key TEXT;
        CREATE UNIQUE INDEX problems_slot ON problems(experiment_id, slot_key)
        """,
    )


@migrations(name="0005_dedup")
def dedup(db: Database) -> None:
    """Near-duplicate signal for keep-one-per-family thresholds, and the parameters of each run.

    `dup_of_sim` is the similarity to the most similar problem that outranks this
    one (earlier, or preferred by quality): dropping `dup_of_sim >= T` keeps one
    problem per near-duplicate family at any T, where `nn_sim >= T` drops both.
    """
    _run(
        db,
        """
        ALTER TABLE scores ADD COLUMN dup_of_id INTEGER;
        ALTER TABLE scores ADD COLUMN dup_of_sim REAL;
        CREATE INDEX scores_dup_of_sim ON scores(dup_of_sim);
        CREATE TABLE signal_runs (
            experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,              -- dedup, decontaminate
            params_json TEXT NOT NULL,       -- threshold, scorer, floor, benchmarks, counts
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            PRIMARY KEY (experiment_id, kind)
        )
        """,
    )


# Migrations 0006-0011 are being written by separate work streams, one function each, in
# this order; each stream edits only its own function until the release that ships them.


@migrations(name="0006_selection_signals")
def selection_signals(db: Database) -> None:
    """Per-solution finish reason and reward-model score; stored selections in one spelling.

    `finish_reason` is backfilled from the request each solution came from, so solutions
    stored earlier are known truncated or not. Blends stored with the old selection names
    (`max_nn_sim`, `min_judge`, `max_decontam`, `majority+first`, ...) are rewritten in the
    config's spelling; the old `none` policy becomes `first` (it kept unsolved problems,
    which no export could use).
    """
    _run(
        db,
        """
        -- stop, length, ... ('length': cut at the token limit, never a training target)
        ALTER TABLE solutions ADD COLUMN finish_reason TEXT;
        -- reward-model score (NULL: not scored) and the scorer that gave it
        ALTER TABLE solutions ADD COLUMN reward REAL;
        ALTER TABLE solutions ADD COLUMN reward_model TEXT;
        UPDATE solutions SET finish_reason = (
            SELECT r.finish_reason FROM requests r WHERE r.key = solutions.request_key
        ) WHERE request_key IS NOT NULL;
        UPDATE blends SET filters_json = json_object(
            'policy', CASE json_extract(filters_json, '$.policy')
                WHEN 'majority+first' THEN 'majority_first'
                WHEN 'reference-verified' THEN 'reference_verified'
                WHEN 'none' THEN 'first'
                ELSE COALESCE(json_extract(filters_json, '$.policy'), 'first') END,
            'judge_min', json_extract(filters_json, '$.min_judge'),
            'near_dup_max', json_extract(filters_json, '$.max_nn_sim'),
            'decontam_max', json_extract(filters_json, '$.max_decontam'),
            'drop_exact_dups', json(CASE WHEN COALESCE(
                json_extract(filters_json, '$.drop_exact_dups'), 1) THEN 'true' ELSE 'false' END),
            'allow_truncated', json('false'),
            'honour_marks', json(CASE WHEN COALESCE(
                json_extract(filters_json, '$.honour_marks'), 1) THEN 'true' ELSE 'false' END)
        ) WHERE json_valid(filters_json) AND json_type(filters_json, '$.max_nn_sim') IS NOT NULL
        """,
    )


@migrations(name="0007_training_data")
def training_data(db: Database) -> None:
    """Sampled student traces, their steps and Monte-Carlo rollouts (RFT, DPO, per-step DPO).

    A trace set is one sampling of a student over an experiment's problems (or the traces of
    one input file). Per-step DPO splits a trace into steps and rolls out K continuations of
    every prefix: `traces.q0` is the value of the empty prefix, `steps.q` the value after that
    step (best-of-K, 1/0) with its success rate, `traces.critical_step` the first step whose
    value is 0. Rollout texts stay in `requests` (joined on the key), as for every response.
    """
    _run(
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
    _run(
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
    _run(
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
    _run(
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
    _run(
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


# The ordered names, oldest first: what `schema_version` reports.
MIGRATION_NAMES: list[str] = [m.name for m in migrations._migrations]
