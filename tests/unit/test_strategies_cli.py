"""`flames strategies ...` and `flames generate` as a user types them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.generation.generate import generate
from tests.unit.strategy_doubles import ScriptedBackend, workspace
from tests.unit.test_strategies_runner import good_reply
from workbench.cli.main import main


def flames(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_list_show_preview(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = str(tmp_path / "flames.db")
    workspace(tmp_path, {"zero_shot_generation": {"budget": 1}})
    code, out, _ = flames(capsys, "strategies", "list", "--db", db_path)
    assert code == 0 and "suggester_editor" in out and "suggest v1, edit v1" in out
    code, out, _ = flames(capsys, "strategies", "show", "fobar", "--db", db_path)
    assert code == 0 and "answer rule: derives" in out and "compose (v1)" in out
    code, out, _ = flames(capsys, "strategies", "show", "iqc", "--db", db_path)
    assert code == 0 and "Source: Iterative Question Composing, MMIQC" in out
    assert "yields: each round" in out and "Changed:" in out
    code, out, _ = flames(capsys, "strategies", "show", "qft", "--db", db_path)
    assert "finetune (training, no template)" in out and "ScaleQuest" in out
    code, out, _ = flames(
        capsys, "strategies", "show", "iqc", "--stage", "compose", "--db", db_path
    )
    assert "{{problem}}" in out
    code, out, _ = flames(capsys, "strategies", "preview", "paraphrase", "--db", db_path)
    assert code == 0 and "Tom has 12 apples" in out
    code, _, err = flames(capsys, "strategies", "show", "nope", "--db", db_path)
    assert code == 1 and "unknown strategy 'nope'" in err and "Traceback" not in err


def test_export_import_and_set_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = str(tmp_path / "flames.db")
    folder = tmp_path / "prompts"
    code, out, _ = flames(capsys, "strategies", "export", str(folder), "--db", db_path)
    assert code == 0 and "wrote 20 templates" in out
    path = folder / "zero_shot_generation" / "write.txt"
    path.write_text("Write a {{level}} problem. <problem>...</problem>\n")
    code, out, _ = flames(capsys, "strategies", "import", str(folder), "--db", db_path)
    assert (
        code == 0 and "zero_shot_generation/write: now v2" in out and "1 templates changed" in out
    )
    (folder / "fobar" / "mask.txt").write_text("Mask {{seed_question}} as <problem></problem>\n")
    code, out, err = flames(capsys, "strategies", "import", str(folder), "--db", db_path)
    assert code == 0 and "mask.txt never shows <masked>" in err
    path.write_text("Write a {{levle}} problem.\n")
    code, _, err = flames(capsys, "strategies", "import", str(folder), "--db", db_path)
    assert code == 1 and "write.txt" in err and "unknown variable {{levle}}" in err
    other = tmp_path / "t.txt"
    other.write_text("Again {{level}} <problem></problem>\n")
    code, out, _ = flames(
        capsys,
        "strategies",
        "set-template",
        "zero_shot_generation",
        "write",
        str(other),
        "--db",
        db_path,
    )
    assert code == 0 and "zero_shot_generation/write: v3" in out
    code, out, _ = flames(
        capsys, "strategies", "history", "zero_shot_generation", "write", "--db", db_path
    )
    assert out.count("\n") == 3 and "default" in out


def test_generate_reports_and_resumes_without_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, exp = workspace(tmp_path, {"zero_shot_generation": {"budget": 2}, "fobar": {"budget": 2}})

    def script(prompt: str, request: object) -> str:
        return "" if "original math problem" in prompt else good_reply(prompt, request)  # type: ignore[arg-type]

    generate(db, exp, backend=ScriptedBackend(script))
    db_path = str(tmp_path / "flames.db")
    code, out, err = flames(capsys, "generate", exp, "--db", db_path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["strategy", "requested", "generated", "rejected", "failed"]
    assert lines[1].split() == ["zero_shot_generation", "2", "0", "2", "0"]
    assert "rejected 2 x empty" in lines[2]
    assert lines[3].split() == ["fobar", "2", "2", "0", "0"]
    assert "4 problems were already stored" in out
    code, _, err = flames(capsys, "generate", exp, "--strategy", "iqc", "--db", db_path)
    assert code == 1 and "'iqc' is not enabled" in err
    code, _, err = flames(capsys, "generate", "nosuch", "--db", db_path)
    assert code == 1 and "no experiment called 'nosuch'" in err


def test_generate_hints_at_accept_untagged_when_tags_are_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, exp = workspace(tmp_path, {"zero_shot_generation": {"budget": 2}})
    generate(db, exp, backend=ScriptedBackend(lambda p, r: "A problem without any tags, 5 cats."))
    code, out, _ = flames(capsys, "generate", exp, "--db", str(tmp_path / "flames.db"))
    assert code == 0 and "rejected 2 x missing_section:problem" in out
    assert "hint:" in out and "accept_untagged = true" in out
