"""Benchmarks: the registry of named math test sets, read from local files, the Hub or a
package, shared by decontamination and evaluation."""

from pipeline.benchmarks.items import BenchItem, Layout
from pipeline.benchmarks.loading import (
    DATA_DIR_ENV,
    LoadedBenchmark,
    check_spec,
    load_benchmark,
    load_benchmarks,
    open_benchmark,
)
from pipeline.benchmarks.registry import (
    BENCHMARKS,
    COT_INSTRUCTION,
    Benchmark,
    Prompt,
    benchmark_names,
    get_benchmark,
)

__all__ = [
    "BENCHMARKS",
    "COT_INSTRUCTION",
    "DATA_DIR_ENV",
    "BenchItem",
    "Benchmark",
    "Layout",
    "LoadedBenchmark",
    "Prompt",
    "benchmark_names",
    "check_spec",
    "get_benchmark",
    "load_benchmark",
    "load_benchmarks",
    "open_benchmark",
]
