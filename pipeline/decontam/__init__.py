"""Benchmark decontamination: word n-gram containment against benchmark items (the FLAMES rule)."""

from pipeline.benchmarks import BenchItem, load_benchmark, load_benchmarks
from pipeline.decontam.index import NgramIndex

__all__ = ["BenchItem", "NgramIndex", "load_benchmark", "load_benchmarks"]
