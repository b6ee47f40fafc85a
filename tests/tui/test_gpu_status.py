"""GPU memory and utilisation beside a run: parsed from nvidia-smi, one clear line without it."""

from __future__ import annotations

import pytest

from workbench.tui import gpu


def test_nvidia_smi_rows_become_one_line_per_gpu() -> None:
    text = "0, NVIDIA H100 80GB HBM3, 40960, 81559, 97\n1, NVIDIA H100 80GB HBM3, 512, 81559, 0\n"
    states = gpu.parse_nvidia_smi(text)
    assert [s.index for s in states] == [0, 1]
    assert states[0].line() == "GPU0 NVIDIA H100 80GB H: 40.0/80 GiB, 97% busy"
    assert gpu.parse_nvidia_smi("No devices were found\n") == []


def test_without_nvidia_smi_it_says_no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpu.shutil, "which", lambda name: None)
    assert gpu.gpu_lines() == ["no GPU (nvidia-smi not found): training and eval run on the CPU"]
