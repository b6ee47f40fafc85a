"""Benchmarks: named math test sets read from local JSONL or the Hub, shared by
decontamination and evaluation."""
