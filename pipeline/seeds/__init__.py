"""Seed sets: importing seed problems from files, the Hub or the embedded CHAMP set."""

from pipeline.seeds.importer import ImportReport, content_hash, import_seeds

__all__ = ["ImportReport", "content_hash", "import_seeds"]
