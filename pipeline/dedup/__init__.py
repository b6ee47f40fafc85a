"""Exact and near-duplicate detection at scale: normalise, block with MinHash-LSH, score exactly."""

from pipeline.dedup.duplicates import DedupResult, find_duplicates
from pipeline.dedup.search import SearchOptions
from pipeline.dedup.text import normalize

__all__ = ["DedupResult", "SearchOptions", "find_duplicates", "normalize"]
