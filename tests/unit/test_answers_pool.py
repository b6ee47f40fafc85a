"""The bounded pool: hangs time out, crashes are survived, and model output is never executed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.answers import Verifier, grade_pairs
from pipeline.answers.pool import SymbolicPool

TIMEOUT_S = 2.0
# Factorials of factorials: sympy evaluates them eagerly and never finishes.
SLOW = "\\frac{10!!!!!}{3}"
GOLD = "\\frac{7}{13}"


@pytest.fixture(scope="module")
def verifier() -> Iterator[Verifier]:
    with Verifier(workers=2, timeout_s=TIMEOUT_S) as shared:
        yield shared


@pytest.mark.timeout(60)
def test_runaway_computation_times_out_and_the_pool_recovers(verifier: Verifier) -> None:
    started = time.monotonic()
    verdicts = verifier.compare([("5", SLOW), ("x^2+1", "1+x^2"), ("7", "\\frac{10!!!!}{3}")])
    elapsed = time.monotonic() - started
    assert verdicts[0].equal is None and verdicts[0].reason in ("timeout", "out_of_memory")
    assert verdicts[1].equal is True
    assert verdicts[2].equal in (None, False)
    # Two slow tasks run in parallel on two workers; each is cut at its own deadline.
    assert elapsed < 4 * TIMEOUT_S + 5
    assert verifier.compare([("\\frac{1}{2}", "\\frac{2}{4}")])[0].equal is True


@pytest.mark.timeout(30)
def test_power_towers_are_refused_before_sympy(verifier: Verifier) -> None:
    towers = ["10^{10^{10^{10}}}", "2^{2^{2^{2^{2^{2}}}}}", "9^{999999999}", "10^{10^{10}}"]
    verdicts = verifier.compare([("5", t) for t in towers] + [(t, "5") for t in towers])
    assert {(v.equal, v.reason) for v in verdicts} == {(None, "too_large")}
    small = verifier.compare([("1024", "2^{10}"), ("16", "2^{2^{2}}"), ("x^{1024}", "x^{2^{10}}")])
    assert [v.equal for v in small] == [True, True, True]


INJECTIONS = [
    "__import__('os').system('touch {marker}')",
    '\\boxed{__import__("os").system("touch {marker}")}',
    "eval(\"__import__('os').system('touch {marker}')\")",
    "exec('import os; os.system(\"touch {marker}\")')",
    "().__class__.__base__.__subclasses__()",
    "lambda: __import__('os').system('touch {marker}')",
    "$__import__('os').system('touch {marker}')$",
    "The answer is __import__('os').system('touch {marker}')",
    "x = __import__('subprocess').run(['touch', '{marker}'])",
    "open('{marker}', 'w').write('x')",
]


@pytest.mark.timeout(120)
def test_model_output_is_never_executed(tmp_path: Path, verifier: Verifier) -> None:
    marker = tmp_path / "pwned"
    preds = [text.replace("{marker}", str(marker)) for text in INJECTIONS]
    verdicts = verifier.compare([(GOLD, p) for p in preds] + [(p, GOLD) for p in preds])
    grades = grade_pairs([(GOLD, p) for p in preds], workers=2, timeout_s=TIMEOUT_S)
    assert not marker.exists()
    assert all(v.equal is not True for v in verdicts)
    assert all(g.equivalent is not True for g in grades)


@pytest.mark.timeout(60)
def test_huge_and_deep_inputs_are_refused_without_the_pool(verifier: Verifier) -> None:
    megabyte = "1+" * 500_000 + "1"
    deep = "(" * 100 + "x" + ")" * 100
    verdicts = verifier.compare(
        [(megabyte, "2"), ("2", megabyte), (deep, "1"), ("\\frac{" * 100 + "1", "1")]
    )
    assert [v.equal for v in verdicts] == [None, None, None, None]
    assert verdicts[0].reason == "too_long"
    assert verdicts[2].reason == "too_deep"


@pytest.mark.timeout(60)
def test_killed_worker_yields_unverifiable_and_is_replaced() -> None:
    with SymbolicPool(workers=1, timeout_s=30) as pool:
        pool.map([("1", "1")])  # start the worker
        pid = pool._workers[0].process.pid
        assert pid is not None
        threading.Timer(1.0, os.kill, (pid, signal.SIGKILL)).start()
        results = pool.map([("5", SLOW)])
        assert results == [(None, "worker_crashed")]
        assert pool.map([("x+1", "1+x")]) == [(True, "symbolic_equal")]
        assert pool.replaced == 1


@pytest.mark.timeout(60)
def test_usable_from_a_thread(verifier: Verifier) -> None:
    """math-verify's SIGALRM timeout breaks off the main thread; ours must not."""
    seen: list[bool | None] = []
    worker = threading.Thread(
        target=lambda: seen.append(verifier.equivalent("\\sqrt{8}", "2\\sqrt{2}").equal)
    )
    worker.start()
    worker.join(30)
    assert seen == [True]


ORPHAN_SCRIPT = """
import os, threading, time
from pipeline.answers import Verifier
verifier = Verifier(workers=1, timeout_s=120)
verifier.compare([("1", "1+0*x")])
print(verifier._pool._workers[0].process.pid, flush=True)
threading.Thread(target=verifier.compare, args=([("5", SLOW)],), daemon=True).start()
time.sleep(1)
os._exit(0)
"""


@pytest.mark.timeout(90)
def test_busy_worker_dies_with_a_killed_caller() -> None:
    """A caller that dies without cleanup (SIGKILL) leaves no worker spinning on sympy."""
    script = f"SLOW = {SLOW!r}\n" + ORPHAN_SCRIPT
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=80,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    pytest.fail("the worker outlived its caller")
