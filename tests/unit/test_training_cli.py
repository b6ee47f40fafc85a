"""`flames train`: usage and input errors in one line, before any model or launcher starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.cli.main import main

CHAT = [{"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "2"}]


def flames(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as caught:
        main(list(args))
    return int(caught.value.code or 0), capsys.readouterr().err


@pytest.fixture
def sft_file(tmp_path: Path) -> Path:
    path = tmp_path / "sft.jsonl"
    path.write_text(json.dumps({"messages": CHAT}) + "\n", encoding="utf-8")
    return path


def test_sft_rows_given_to_dpo_fail_naming_the_fields(
    capsys: pytest.CaptureFixture[str], sft_file: Path, tmp_path: Path, db_path: Path
) -> None:
    code, err = flames(
        capsys, "train", "--method", "dpo", "--data", str(sft_file), "--out", str(tmp_path / "o"),
        "--db", str(db_path),
    )  # fmt: skip
    assert code == 1
    assert err.strip().count("\n") == 0
    assert "DPO needs prompt + chosen + rejected" in err and "this row has messages" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--epochs", "2", "--max-steps", "5"], "--epochs or --max-steps, not both"),
        (["--accelerate-config", "fsdp"], "runs on CUDA GPUs and none is visible"),
        (["--accelerate-config", "zero9"], "deepspeed-zero3, fsdp, multi-gpu, single"),
        (["--precision", "bf16"], "needs a CUDA GPU"),
    ],
)
def test_bad_settings_fail_in_one_line(
    capsys: pytest.CaptureFixture[str],
    sft_file: Path,
    tmp_path: Path,
    db_path: Path,
    args: list[str],
    expected: str,
) -> None:
    code, err = flames(
        capsys, "train", "--data", str(sft_file), "--out", str(tmp_path / "o"), "--db",
        str(db_path), *args,
    )  # fmt: skip
    assert code in (1, 2) and expected in err
    assert "Traceback" not in err


def test_the_experiment_form_takes_no_run_flags_and_names_unknown_experiments(
    capsys: pytest.CaptureFixture[str], db_path: Path
) -> None:
    code, err = flames(capsys, "train", "quick", "--max-steps", "3", "--db", str(db_path))
    assert code == 2 and "come from the experiment's config" in err
    code, err = flames(capsys, "train", "nosuch", "--db", str(db_path))
    assert code == 1 and "nosuch" in err
    code, err = flames(capsys, "train", "--data", "x.jsonl", "--db", str(db_path))
    assert code == 2 and "needs --out" in err
