"""`flames grade` against math-verify called per pair in one process, on realistic outputs.

Two files are built from ../shared/data answers with formatting variants and wrong answers:
GSM8K-style (worked solution + final answer as `####`, "The answer is", `\\boxed{}`, units,
thousand separators, prose) and MATH-style (MATH-500 solutions with reformatted or swapped
boxed answers). Printed: time of each, the speed ratio (goal >= 10x on GSM8K, >= 1x on MATH)
and verdict agreement with math-verify, with examples of disagreements.

Then the hard cases (`tests/unit/grader_cases.py`, the project's own categorised cases):
agreement with the expected verdict, for `flames grade` and for math-verify's
`verify(parse(gold), parse(pred))` (goal >= 0.98 for ours); and N adversarial lines
(`tests/unit/grader_adversarial.py`, default 10,000): crashes (goal 0), lines without a
verdict or reason (goal 0), wall time and the symbolic timeouts it hit.
Sizes: FLAMES_BENCH_GRADE_GSM8K (default 1319 items, x3 variants), FLAMES_BENCH_GRADE_BIG=1
for GSM8K train (7473 items), FLAMES_BENCH_GRADE_ADVERSARIAL (default 10000 lines).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import tempfile
import time
from pathlib import Path

from pipeline.answers.grading import grade_file

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
BIG = os.environ.get("FLAMES_BENCH_GRADE_BIG") == "1"
GSM8K_ITEMS = int(os.environ.get("FLAMES_BENCH_GRADE_GSM8K", "7473" if BIG else "1319"))
ADVERSARIAL_LINES = int(os.environ.get("FLAMES_BENCH_GRADE_ADVERSARIAL", "10000"))


def _with_commas(number: str) -> str:
    return f"{int(number):,}" if number.isdigit() and len(number) > 3 else number


def gsm8k_pairs(rng: random.Random) -> list[dict[str, str]]:
    """Gold: the bare number; pred: the worked solution ending in one of many answer styles."""
    split = "train" if BIG else "test"
    rows = [json.loads(line) for line in (DATA / "gsm8k" / f"{split}.jsonl").open()]
    pairs = []
    for row in rows[:GSM8K_ITEMS]:
        body, _, gold = row["answer"].rpartition("####")
        gold = gold.strip().replace(",", "")
        reasoning = re.sub(r"<<[^>]*>>", "", body).strip()
        for _ in range(3):
            wrong = rng.random() < 0.3
            answer = (
                str(int(gold) + rng.choice([-2, -1, 1, 10]))
                if wrong and gold.lstrip("-").isdigit()
                else gold
            )
            style = rng.choice(
                [
                    "#### {a}",
                    "The answer is {a}.",
                    "Therefore, the final answer is $\\boxed{{{a}}}$.",
                    "#### {c}",
                    "So the answer is ${a}.",
                    "The answer is {a} dollars.",
                    "Final Answer: {a}.00",
                    "so she has {a} left in total",
                ]
            )
            final = style.format(a=answer, c=_with_commas(answer))
            pairs.append({"gold": gold, "pred": f"{reasoning}\n{final}"})
    return pairs


_VARIANTS = [
    lambda a: a,
    lambda a: a.replace("\\frac", "\\dfrac"),
    lambda a: a.replace(" ", ""),
    lambda a: f"\\left({a}\\right)" if a.startswith("(") is False and "," not in a else a,
    lambda a: a.replace("\\frac", "\\tfrac"),
]


def math_pairs(rng: random.Random) -> list[dict[str, str]]:
    """Gold: MATH-500's answer; pred: its solution with the boxed answer reformatted or swapped."""
    rows = [json.loads(line) for line in (DATA / "math500" / "test.jsonl").open()]
    pairs = []
    for row in rows:
        solution, gold = row["solution"], row["answer"]
        for _ in range(2):
            answer = rng.choice(rows)["answer"] if rng.random() < 0.3 else gold
            answer = rng.choice(_VARIANTS)(answer)
            marker = solution.rfind("\\boxed{")
            pred = (
                solution[:marker] + "\\boxed{" + answer + "}."
                if marker >= 0
                else f"{solution}\nThe answer is ${answer}$."
            )
            pairs.append({"gold": gold, "pred": pred})
    return pairs


def math_verify_baseline(pairs: list[dict[str, str]]) -> tuple[float, list[bool]]:
    """math-verify as its README shows: gold parsed as `$gold$`, the raw output parsed, verify.

    One pair at a time in one process, its default (signal-based) timeouts on.
    """
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    started = time.perf_counter()
    verdicts = [bool(verify(parse(f"${p['gold']}$"), parse(p["pred"]))) for p in pairs]
    return time.perf_counter() - started, verdicts


def ours(pairs: list[dict[str, str]], folder: Path, name: str) -> tuple[float, list[bool | None]]:
    src, dst = folder / f"{name}.jsonl", folder / f"{name}.graded.jsonl"
    src.write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    started = time.perf_counter()
    grade_file(src, dst)
    elapsed = time.perf_counter() - started
    verdicts = [json.loads(line)["equivalent"] for line in dst.open(encoding="utf-8")]
    return elapsed, verdicts


def report(name: str, pairs: list[dict[str, str]], folder: Path, goal: float) -> None:
    ours_s, our_verdicts = ours(pairs, folder, name)
    base_s, base_verdicts = math_verify_baseline(pairs)
    agree = sum(1 for a, b in zip(our_verdicts, base_verdicts, strict=True) if a is b)
    unverifiable = sum(1 for v in our_verdicts if v is None)
    ratio = base_s / ours_s if ours_s else float("inf")
    print(
        f"{name}: {len(pairs)} pairs | flames grade {ours_s:.2f}s ({len(pairs) / ours_s:.0f}/s) "
        f"| math-verify per pair {base_s:.2f}s ({len(pairs) / base_s:.0f}/s) "
        f"| ratio {ratio:.1f}x (goal >= {goal:g}x: {'met' if ratio >= goal else 'NOT met'})"
    )
    print(
        f"{name}: same verdict as math-verify on {agree}/{len(pairs)} "
        f"({100 * agree / len(pairs):.1f}%), unverifiable {unverifiable}"
    )
    shown = 0
    for pair, a, b in zip(pairs, our_verdicts, base_verdicts, strict=True):
        if a is not b and shown < 4:
            tail = pair["pred"][-70:].replace("\n", " ")
            print(f"  differs: gold={pair['gold']!r:.40} pred=...{tail!r} ours={a} math-verify={b}")
            shown += 1


def hard_cases(folder: Path) -> None:
    """Agreement with the expected verdicts on the project's own categorised cases."""
    from math_verify import parse, verify

    from tests.unit.grader_cases import CASES, CATEGORIES

    pairs = [{"gold": gold, "pred": pred} for _, gold, pred, _ in CASES]
    _, ours_verdicts = ours(pairs, folder, "hard")
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    expected = [case[3] for case in CASES]
    # math-verify as its README calls it, and with a bare gold put in `$...$` first (a bare
    # gold is not extracted by its LaTeX rules), so neither reading is held against it.
    raw = [bool(verify(parse(p["gold"]), parse(p["pred"]))) for p in pairs]
    wrapped = [bool(verify(parse(_delimited(p["gold"])), parse(p["pred"]))) for p in pairs]
    ours_ok = [(v is True) == e for v, e in zip(ours_verdicts, expected, strict=True)]
    raw_ok = [v == e for v, e in zip(raw, expected, strict=True)]
    wrapped_ok = [v == e for v, e in zip(wrapped, expected, strict=True)]
    n = len(CASES)
    print(
        f"hard cases: {n} | flames grade agrees {sum(ours_ok)}/{n} ({sum(ours_ok) / n:.3f}, "
        f"goal >= 0.98: {'met' if sum(ours_ok) / n >= 0.98 else 'NOT met'}) | math-verify "
        f"verify(parse(gold), parse(pred)) {sum(raw_ok) / n:.3f}, with a bare gold in $...$ "
        f"{sum(wrapped_ok) / n:.3f}"
    )
    for category in CATEGORIES:
        rows = [i for i, c in enumerate(CASES) if c[0] == category]
        a, b, c = (sum(ok[i] for i in rows) for ok in (ours_ok, raw_ok, wrapped_ok))
        print(f"  {category:<16} ours {a}/{len(rows)}  math-verify {b}/{len(rows)} ({c})")


def _delimited(gold: str) -> str:
    """`gold` in `$...$` unless it already has maths delimiters or a box."""
    return gold if any(m in gold for m in ("$", "\\[", "\\(", "\\boxed")) else f"${gold}$"


def adversarial(folder: Path, count: int) -> None:
    """Hostile lines: every one must get a verdict or a null with a reason, none may crash."""
    from tests.unit.grader_adversarial import adversarial_lines

    lines = adversarial_lines(count)
    src, dst = folder / "hostile.jsonl", folder / "hostile.graded.jsonl"
    src.write_bytes(b"".join(line + b"\n" for _, line in lines))
    started = time.perf_counter()
    try:
        summary = grade_file(src, dst, timeout_s=5.0)
    except Exception as exc:  # noqa: BLE001 - the figure is whether this happens
        print(f"adversarial: {count} lines | CRASHED: {exc!r}")
        return
    elapsed = time.perf_counter() - started
    rows = [json.loads(line) for line in dst.open(encoding="utf-8")]
    missing = sum(1 for r in rows if not r.get("reason")) + (count - len(rows))
    timeouts = summary.reasons.get("timeout", 0)
    print(
        f"adversarial: {count} lines | 0 crashes | {missing} without a verdict or reason | "
        f"{elapsed:.1f}s ({count / elapsed:.0f}/s) | {timeouts} symbolic timeouts "
        f"(bound: {timeouts} x 5 s + the rest) | null verdicts {summary.unverifiable}"
    )


def main() -> None:
    rng = random.Random(0)
    cores = os.cpu_count() or 1
    print(f"cores: {cores}")
    with tempfile.TemporaryDirectory() as tmp:
        if (DATA / "gsm8k").is_dir():
            report("gsm8k", gsm8k_pairs(rng), Path(tmp), goal=10)
            report("math", math_pairs(rng), Path(tmp), goal=1)
        else:
            print(f"(no {DATA}: the GSM8K and MATH speed figures are skipped)")
        hard_cases(Path(tmp))
        adversarial(Path(tmp), ADVERSARIAL_LINES)


if __name__ == "__main__":
    main()
