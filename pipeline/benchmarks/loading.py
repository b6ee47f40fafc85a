"""Loading benchmarks by spec: a registry name, `NAME=SOURCE`, a file path, or an `hf:` id.

- `gsm8k`: the registry's benchmark, from `<data dir>/gsm8k/test.jsonl` (`--data-dir` or
  $FLAMES_DATA_DIR), or from its package (`champ_heldout`). Never the network unasked,
  except `math`, which only the Hub publishes (`math/test.jsonl` under the data dir wins).
- `gsm8k=hub`: its usual Hub copy (`hf:openai/gsm8k:main:test`).
- `gsm8k=hf:ORG/NAME:SPLIT`, `gsmplus=my/gsmplus.jsonl`: the registry's field mapping and
  subset filter applied to another copy.
- `path/to/file.jsonl` (also .json, .csv, .parquet): fields detected row by row; a file
  named `<name>/test.jsonl` takes `<name>`'s definition when the registry has it.
- `hf:ORG/NAME[:CONFIG]:SPLIT`: through `datasets.load_dataset`, fields detected.
Rows are read by the seed importer's readers (`pipeline.seeds.sources`), so a bad line is
reported the same way everywhere. The product never assumes where data lives.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pipeline.benchmarks.items import BenchItem, map_rows
from pipeline.benchmarks.registry import BENCHMARKS, Benchmark, get_benchmark
from pipeline.errors import ConfigError, InputError
from pipeline.seeds.sources import parse_hub_id, read_source

__all__ = [
    "DATA_DIR_ENV",
    "BenchItem",
    "LoadedBenchmark",
    "check_spec",
    "data_root",
    "load_benchmark",
    "load_benchmarks",
    "open_benchmark",
]

DATA_DIR_ENV = "FLAMES_DATA_DIR"
HUB = "hub"  # `NAME=hub`: the registry benchmark's own Hub copy


@dataclass(frozen=True)
class LoadedBenchmark:
    """A benchmark's definition, where its items were read from, the items, and their digest.

    `digest` identifies the item list (texts and golds, in order): two evaluations pair
    item by item only when their digests agree.
    """

    name: str
    definition: Benchmark
    source: str
    items: list[BenchItem]
    digest: str


def data_root(data_dir: str | Path | None) -> Path | None:
    """The data dir given, else $FLAMES_DATA_DIR, else None."""
    root = data_dir or os.environ.get(DATA_DIR_ENV)
    return Path(root) if root else None


def open_benchmark(
    spec: str, data_dir: str | Path | None = None, *, need_gold: bool = True
) -> LoadedBenchmark:
    """Read the benchmark `spec` names (see the module docstring), all of its items.

    Raises ConfigError for an unknown name or a benchmark with nowhere to be read from,
    InputError for a row without a question (or, with `need_gold`, without an answer).
    """
    spec = spec.strip()
    name, source = _split(spec)
    root = data_root(data_dir)
    if source is not None:
        definition = BENCHMARKS.get(name) or Benchmark(name, f"{name} ({source})")
        if source == HUB:
            source = _hub_of(get_benchmark(name))
        if not source.startswith("hf:") and not Path(source).is_file():
            raise ConfigError(f"benchmark '{name}': {source} is not a file")
        return _load(definition, source, need_gold)
    if spec.startswith("hf:"):
        try:
            parse_hub_id(spec)  # a malformed id fails here, before the Hub is asked
        except InputError as exc:
            raise ConfigError(f"benchmark {exc}") from None
        title = spec[3:].split(":")[0]
        return _load(Benchmark(title, title), spec, need_gold)
    path = Path(spec).expanduser()
    if path.is_file():
        named = _name_for(path)
        definition = BENCHMARKS.get(named) or Benchmark(named, named)
        return _load(definition, str(path), need_gold)
    if spec in BENCHMARKS:
        definition = BENCHMARKS[spec]
        return _load(definition, _source_of(definition, root), need_gold)
    if root is not None and "/" not in spec and (root / spec / "test.jsonl").is_file():
        # A folder laid out like the registry's but not in it: detected fields.
        return _load(Benchmark(spec, spec), str(root / spec / "test.jsonl"), need_gold)
    get_benchmark(spec)  # raises: unknown name, listing the known ones
    raise AssertionError("unreachable")


def check_spec(spec: str, data_dir: str | Path | None = None) -> str:
    """The benchmark name `spec` gives, without reading anything: an unknown name fails here.

    Lets a command reject a typo in its third benchmark before it reads the first two.
    """
    spec = spec.strip()
    name, source = _split(spec)
    if source is not None:
        return name
    if spec.startswith("hf:"):
        return spec[3:].split(":")[0]
    path = Path(spec).expanduser()
    if path.is_file():
        return _name_for(path)
    root = data_root(data_dir)
    if spec in BENCHMARKS or (root is not None and (root / spec / "test.jsonl").is_file()):
        return spec
    get_benchmark(spec)  # raises: unknown name, listing the known ones
    raise AssertionError("unreachable")


def load_benchmark(
    spec: str, data_dir: str | Path | None = None, *, need_gold: bool = False
) -> list[BenchItem]:
    """The items of one benchmark spec (decontamination needs no gold answers)."""
    return open_benchmark(spec, data_dir, need_gold=need_gold).items


def load_benchmarks(specs: Iterable[str], data_dir: str | Path | None = None) -> list[BenchItem]:
    """Items of several benchmark specs, in the order given (for decontamination)."""
    items: list[BenchItem] = []
    for spec in specs:
        if spec.strip():
            items.extend(load_benchmark(spec, data_dir))
    if not items:
        raise ConfigError("no benchmark items: give --against with at least one benchmark")
    return items


def _split(spec: str) -> tuple[str, str | None]:
    """`NAME=SOURCE` -> (NAME, SOURCE); anything else -> (spec, None)."""
    if "=" in spec and not spec.startswith("hf:"):
        name, _, source = spec.partition("=")
        if name.strip() and source.strip() and "/" not in name:
            return name.strip(), source.strip()
    return spec, None


def _source_of(definition: Benchmark, root: Path | None) -> str:
    """Where a registry benchmark is read from unasked: a data-dir file, else its package."""
    if root is not None:
        for relative in definition.files:
            if (root / relative).is_file():
                return str(root / relative)
    if definition.package is not None:
        return definition.package
    if definition.hub_only and definition.hub is not None:
        return definition.hub
    looked = (
        f"no {' or '.join(definition.files)} under {root}"
        if root
        else f"no data dir given to find {definition.files[0]} in (--data-dir or ${DATA_DIR_ENV})"
    )
    hub = (
        f", or its Hub copy with {definition.name}=hub ({definition.hub})" if definition.hub else ""
    )
    raise ConfigError(
        f"benchmark '{definition.name}': {looked}; give a data dir, {definition.name}=PATH{hub}"
    )


def _hub_of(definition: Benchmark) -> str:
    if definition.hub is None:
        raise ConfigError(
            f"benchmark '{definition.name}' has no known Hub copy; "
            f"give {definition.name}=hf:ORG/NAME[:CONFIG]:SPLIT or a data dir"
        )
    return definition.hub


def _load(definition: Benchmark, source: str, need_gold: bool) -> LoadedBenchmark:
    rows = read_source(source)
    items = map_rows(definition.name, rows, definition.layout, source, need_gold=need_gold)
    if not items:
        raise ConfigError(f"benchmark '{definition.name}': no items in {source}")
    return LoadedBenchmark(definition.name, definition, source, items, _digest(items))


def _digest(items: list[BenchItem]) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for item in items:
        hasher.update(item.text.encode("utf-8"))
        hasher.update(b"\x1f")
        hasher.update((item.gold or "").encode("utf-8"))
        hasher.update(b"\x1e")
    return hasher.hexdigest()


def _name_for(path: Path) -> str:
    # .../gsm8k/test.jsonl names itself "gsm8k"; other files by their stem.
    split_names = ("test", "testmini", "train", "validation")
    return path.parent.name if path.stem in split_names else path.stem
