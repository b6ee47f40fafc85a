"""GPU memory and utilisation beside a run, from `nvidia-smi` (a clear "no GPU" otherwise)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

QUERY = "index,name,memory.used,memory.total,utilization.gpu"


@dataclass(frozen=True)
class GpuState:
    """One GPU as nvidia-smi reports it."""

    index: int
    name: str
    memory_used_mib: int
    memory_total_mib: int
    utilisation_pct: int

    def line(self) -> str:
        return (
            f"GPU{self.index} {self.name[:18]}: {self.memory_used_mib / 1024:.1f}/"
            f"{self.memory_total_mib / 1024:.0f} GiB, {self.utilisation_pct}% busy"
        )


def parse_nvidia_smi(text: str) -> list[GpuState]:
    """Rows of `nvidia-smi --query-gpu=QUERY --format=csv,noheader,nounits`."""
    states = []
    for line in text.strip().splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 5:
            continue
        try:
            states.append(
                GpuState(int(parts[0]), parts[1], int(parts[2]), int(parts[3]), int(parts[4]))
            )
        except ValueError:
            continue
    return states


def gpu_lines(timeout_s: float = 3.0) -> list[str]:
    """One line per GPU, or one line saying why there is nothing to show."""
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return ["no GPU (nvidia-smi not found): training and eval run on the CPU"]
    try:
        done = subprocess.run(  # noqa: S603 - a fixed argv
            [binary, f"--query-gpu={QUERY}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [f"no GPU reading: nvidia-smi failed ({exc})"]
    states = parse_nvidia_smi(done.stdout)
    if done.returncode != 0 or not states:
        reason = (done.stderr or done.stdout).strip().splitlines()[:1]
        return [f"no GPU: nvidia-smi says {reason[0] if reason else 'nothing'}"]
    return [state.line() for state in states]
