"""Migrations 0001-0006: the data half (seeds, experiments, the request cache, problems and
their signals, the TUI's settings and marks, dedup, selection signals)."""

from __future__ import annotations

from sqlite_utils import Database

from storage.migrations.registry import migrations, run_script


@migrations(name="0001_core")
def core(db: Database) -> None:
    """Seeds, experiments, strategies, the LLM request cache, problems and their signals."""
    run_script(
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
    run_script(
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
    run_script(
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
    run_script(
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
    run_script(
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


@migrations(name="0006_selection_signals")
def selection_signals(db: Database) -> None:
    """Per-solution finish reason and reward-model score; stored selections in one spelling.

    `finish_reason` is backfilled from the request each solution came from, so solutions
    stored earlier are known truncated or not. Blends stored with the old selection names
    (`max_nn_sim`, `min_judge`, `max_decontam`, `majority+first`, ...) are rewritten in the
    config's spelling; the old `none` policy becomes `first` (it kept unsolved problems,
    which no export could use).
    """
    run_script(
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
