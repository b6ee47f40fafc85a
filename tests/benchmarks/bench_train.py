"""Training on the embedded SmolLM2-135M on the CPU: the workbench against a plain TRL script.

1. Overhead: `flames train` (CLI, checks, a run row, `accelerate launch`, per-step metrics
   into SQLite) against a plain TRL script with the same settings on the same data, both
   timed from process start to exit. Goal: the workbench adds < 5% wall time.
2. The issue's figure: a 10-step LoRA SFT on 16 GSM8K examples (batch 4, fp32), and a
   6-step DPO from its output, with their loss curves (they should fall).

GSM8K comes from ../shared/data when it is there, else built-in arithmetic problems stand in.
FLAMES_BENCH_TRAIN_STEPS sets the overhead run's steps (default 20), FLAMES_BENCH_TRAIN_ROUNDS
how many times each side runs (default 2; the fastest counts).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from storage import training as rows
from storage.database import open_db

STEPS = int(os.environ.get("FLAMES_BENCH_TRAIN_STEPS", "20"))
ROUNDS = int(os.environ.get("FLAMES_BENCH_TRAIN_ROUNDS", "2"))
GOAL = 1.05
# Both sides wait passively for OpenMP work, as the worker does (pipeline/training/worker.py):
# busy-waiting threads make torch many times slower on a CPU shared with other processes.
ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
GSM8K = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gsm8k" / "train.jsonl"

# The plain script: what a user would write with TRL by hand for the same run.
PLAIN = """
import json, sys
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer
from pipeline.llm.embedded import model_dir

data, out, steps, batch, seq = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = [json.loads(line) for line in open(data)]
dataset = Dataset.from_list(
    [{"prompt": r["messages"][:-1], "completion": r["messages"][-1:]} for r in rows]
)
source = str(model_dir())
tokenizer = AutoTokenizer.from_pretrained(source)
model = AutoModelForCausalLM.from_pretrained(source, dtype="float32")
args = SFTConfig(
    output_dir=out, max_steps=steps, per_device_train_batch_size=batch, learning_rate=2e-4,
    lr_scheduler_type="cosine", warmup_steps=0.03, max_length=seq,
    activation_checkpointing=False, logging_steps=1, save_strategy="steps", save_steps=steps,
    report_to="none", use_cpu=True, bf16=False, disable_tqdm=True,
)
lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear",
                  task_type="CAUSAL_LM")
trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                     peft_config=lora)
trainer.train()
trainer.save_model(out)
"""


def gsm8k_rows(n: int) -> list[dict[str, object]]:
    """n SFT chats from GSM8K train (question -> worked answer), or stand-ins without it."""
    if GSM8K.is_file():
        lines = GSM8K.read_text(encoding="utf-8").splitlines()[:n]
        pairs = [(r["question"], r["answer"]) for r in map(json.loads, lines)]
    else:
        pairs = [(f"What is {i} times {i + 3}?", f"{i} * {i + 3} = {i * (i + 3)}\n#### {i * (i + 3)}")
                 for i in range(n)]  # fmt: skip
    return [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
        for q, a in pairs
    ]


def dpo_rows(sft: list[dict[str, object]]) -> list[dict[str, object]]:
    """Pairs: the worked answer against the same answer with a wrong final number."""
    pairs = []
    for row in sft:
        messages = row["messages"]
        assert isinstance(messages, list)
        answer = str(messages[1]["content"])
        body, _, final = answer.rpartition("####")
        wrong = (
            str(int(final.strip().replace(",", "")) + 7)
            if final.strip().replace(",", "").isdigit()
            else "0"
        )
        pairs.append(
            {"prompt": messages[0]["content"], "chosen": answer, "rejected": f"{body}#### {wrong}"}
        )
    return pairs


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of a command and every process under it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} failed: {done.stderr[-1500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def flames_train(args: list[str]) -> float:
    return timed([sys.executable, "-m", "workbench.cli", "train", *args])[0]


def losses(db_path: Path, out: Path) -> list[float]:
    db = open_db(db_path)
    run = rows.run_for_output(db, str(out.resolve()))
    assert run is not None
    return [value for _, value in rows.metric_series(db, run.id, "loss")]


def halves(curve: list[float]) -> str:
    """Mean loss of the first and second half of a run (single steps are noisy)."""
    half = len(curve) // 2
    if not half:
        return ""
    first, second = sum(curve[:half]) / half, sum(curve[-half:]) / half
    return f" (mean {first:.3f} -> {second:.3f}: {'falling' if second < first else 'NOT falling'})"


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    db_path = work / "flames.db"
    sft = write_jsonl(work / "sft.jsonl", gsm8k_rows(16))
    source = "GSM8K train" if GSM8K.is_file() else "stand-in arithmetic"
    print(f"data: 16 {source} examples; {os.cpu_count()} CPU cores; fp32; LoRA r16 all-linear")

    # 1. Overhead over a plain TRL script (same settings, same data, one checkpoint + final
    # save), alternated ROUNDS times; the fastest of each is the least disturbed by other
    # work on a shared machine. CPU seconds (every process) are printed too.
    batch, seq = 2, 128
    script = work / "plain.py"
    script.write_text(PLAIN, encoding="utf-8")
    plain: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    for round_ in range(ROUNDS):
        plain.append(
            timed(
                [sys.executable, str(script), str(sft), str(work / f"plain{round_}"),
                 str(STEPS), str(batch), str(seq)]
            )
        )  # fmt: skip
        ours.append(
            timed(
                [sys.executable, "-m", "workbench.cli", "train", "--method", "sft",
                 "--data", str(sft), "--out", str(work / f"ours{round_}"),
                 "--max-steps", str(STEPS), "--batch-size", str(batch), "--max-seq-len", str(seq),
                 "--learning-rate", "2e-4", "--no-gradient-checkpointing", "--checkpoints", "1",
                 "--db", str(db_path)]
            )
        )  # fmt: skip
    best_plain, best_ours = min(w for w, _ in plain), min(w for w, _ in ours)
    cpu_plain, cpu_ours = min(c for _, c in plain), min(c for _, c in ours)
    ratio = best_ours / best_plain
    print(f"plain TRL script (baseline), {STEPS} steps, batch {batch}, {seq} tokens: "
          f"{best_plain:.1f} s wall, {cpu_plain:.1f} s CPU")  # fmt: skip
    print(f"flames train, same settings: {best_ours:.1f} s wall, {cpu_ours:.1f} s CPU")
    print(f"ratio: {ratio:.3f} wall, {cpu_ours / cpu_plain:.3f} CPU "
          f"(goal < {GOAL:.2f}: {'met' if ratio < GOAL else 'NOT met'}); "
          f"all rounds: plain {[round(w, 1) for w, _ in plain]}, ours {[round(w, 1) for w, _ in ours]}")  # fmt: skip

    # 2. The figure: 10 LoRA SFT steps on 16 GSM8K examples, batch 4; 6 DPO steps.
    took = flames_train(
        ["--method", "sft", "--data", str(sft), "--out", str(work / "sft10"),
         "--max-steps", "10", "--batch-size", "4", "--max-seq-len", "256",
         "--learning-rate", "2e-4", "--no-gradient-checkpointing", "--db", str(db_path)]
    )  # fmt: skip
    curve = losses(db_path, work / "sft10")
    print(
        f"SFT 10 steps (batch 4, 16 examples): {took:.1f} s; loss "
        + " ".join(f"{x:.2f}" for x in curve)
        + halves(curve)
    )
    pairs = write_jsonl(work / "pairs.jsonl", dpo_rows(gsm8k_rows(16)))
    took = flames_train(
        ["--method", "dpo", "--data", str(pairs), "--model", str(work / "sft10"),
         "--out", str(work / "dpo6"), "--max-steps", "6", "--batch-size", "4",
         "--max-seq-len", "256", "--learning-rate", "5e-5", "--no-gradient-checkpointing",
         "--db", str(db_path)]
    )  # fmt: skip
    curve = losses(db_path, work / "dpo6")
    print(
        f"DPO 6 steps from the SFT output: {took:.1f} s; loss "
        + " ".join(f"{x:.3f}" for x in curve)
        + halves(curve)
    )
    print(f"(outputs in {work})")


if __name__ == "__main__":
    main()
