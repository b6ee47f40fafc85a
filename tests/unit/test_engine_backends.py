"""Backend selection and the small helpers backends share (no model is loaded here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from pipeline.errors import FlamesError
from pipeline.llm.backend import chat_template_text, load_backend, truncate_at_stop
from pipeline.llm.spec import ModelSpec


def test_unknown_backend() -> None:
    with pytest.raises(FlamesError, match="unknown backend 'tpu': use one of transformers"):
        load_backend(ModelSpec(backend="tpu"))


def test_missing_model_path_fails_before_loading_anything(tmp_path: Path) -> None:
    with pytest.raises(FlamesError, match="does not exist"):
        load_backend(ModelSpec(model=str(tmp_path / "missing")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FlamesError, match="no config.json there"):
        load_backend(ModelSpec(model=str(tmp_path / "empty")))


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_vllm_missing_is_one_line() -> None:
    with pytest.raises(FlamesError) as error:
        load_backend(ModelSpec(backend="vllm"))
    assert "pip install -e '.[gpu]'" in str(error.value)
    assert "\n" not in str(error.value)


def test_chat_template_from_text_or_file(tmp_path: Path) -> None:
    inline = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    assert chat_template_text(inline) == inline
    path = tmp_path / "t.jinja"
    path.write_text(inline)
    assert chat_template_text(str(path)) == inline
    with pytest.raises(FlamesError, match="chat_template file .* does not exist"):
        chat_template_text(str(tmp_path / "nope.jinja"))


def test_truncate_at_the_earliest_stop() -> None:
    assert truncate_at_stop("a. b! c", (".", "!")) == ("a", True)
    assert truncate_at_stop("a b! c. d", (".", "!")) == ("a b", True)
    assert truncate_at_stop("abc", ("x",)) == ("abc", False)
    assert truncate_at_stop("abc", ("",)) == ("abc", False)
    assert truncate_at_stop("abc", ()) == ("abc", False)
