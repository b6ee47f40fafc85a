"""Group a problem's sampled answers into equivalence classes, with the verifier, in batches.

Answers with the same canonical key (same number, same normalised string) merge for free;
the remaining distinct keys of a problem are compared pairwise, together with the reference
answer, in one verifier batch per chunk of problems, so the symbolic pool stays busy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.answers.normalisation import canonical_key
from pipeline.answers.verification import Verifier

# Beyond this many distinct answers a problem's extra answers stay singleton groups:
# pairwise comparison is quadratic and such a problem fails every consistency policy anyway.
MAX_DISTINCT = 24


@dataclass
class AnswerGroups:
    """Equivalence classes over answer positions, largest first (ties: earliest member first)."""

    members: list[list[int]]
    representatives: list[str]
    reference_match: list[bool | None]
    has_reference: bool
    _position_group: dict[int, int]

    def sizes(self) -> list[int]:
        return [len(m) for m in self.members]

    def answers(self) -> list[str]:
        return list(self.representatives)

    def group_of(self, position: int) -> int | None:
        """The group index of the answer at `position`; None when it had no answer."""
        return self._position_group.get(position)

    def group_matches_reference(self, group: int) -> bool | None:
        return self.reference_match[group] if self.has_reference else None

    def reference_agrees(self) -> int | None:
        """1/0 when the majority answer agrees with the reference; None without one (or unknown)."""
        if not self.has_reference:
            return None
        if not self.members:
            return 0
        match = self.reference_match[0]
        return None if match is None else int(match)


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@dataclass
class _Plan:
    keys: list[str]
    key_positions: list[list[int]]
    key_answers: list[str]
    pair_slots: list[tuple[int, int, int]]  # (key i, key j, index into the batch)
    reference_slots: list[tuple[int, int]]  # (key, index into the batch)


def _plan(
    answers: Sequence[str | None], reference: str | None, batch: list[tuple[str, str]]
) -> _Plan:
    keys: list[str] = []
    positions: list[list[int]] = []
    reps: list[str] = []
    index: dict[str, int] = {}
    for position, answer in enumerate(answers):
        if answer is None or not answer.strip():
            continue
        key = canonical_key(answer)
        if key not in index:
            index[key] = len(keys)
            keys.append(key)
            positions.append([])
            reps.append(answer)
        positions[index[key]].append(position)
    pair_slots: list[tuple[int, int, int]] = []
    limit = min(len(keys), MAX_DISTINCT)
    for i in range(limit):
        for j in range(i + 1, limit):
            kind_i, kind_j = keys[i].split(":", 1)[0], keys[j].split(":", 1)[0]
            if kind_i == kind_j and kind_i in ("num", "text"):
                continue  # distinct numbers / distinct words: settled by their keys
            pair_slots.append((i, j, len(batch)))
            batch.append((reps[i], reps[j]))
    reference_slots: list[tuple[int, int]] = []
    if reference is not None:
        for k in range(len(keys)):
            reference_slots.append((k, len(batch)))
            batch.append((reference, reps[k]))
    return _Plan(keys, positions, reps, pair_slots, reference_slots)


def _build(plan: _Plan, verdicts: Sequence[bool | None], has_reference: bool) -> AnswerGroups:
    parent = list(range(len(plan.keys)))
    for i, j, slot in plan.pair_slots:
        if verdicts[slot] is True:
            root_i, root_j = _find(parent, i), _find(parent, j)
            if root_i != root_j:
                parent[max(root_i, root_j)] = min(root_i, root_j)
    merged: dict[int, list[int]] = {}
    key_ref: dict[int, bool | None] = {k: verdicts[slot] for k, slot in plan.reference_slots}
    for k in range(len(plan.keys)):
        merged.setdefault(_find(parent, k), []).append(k)
    classes = []
    for root, ks in merged.items():
        members = sorted(p for k in ks for p in plan.key_positions[k])
        ref_values = [key_ref.get(k) for k in ks]
        match: bool | None = True if True in ref_values else None if None in ref_values else False
        classes.append((members, plan.key_answers[root], match))
    classes.sort(key=lambda c: (-len(c[0]), c[0][0]))
    position_group = {p: g for g, (members, _, _) in enumerate(classes) for p in members}
    return AnswerGroups(
        [c[0] for c in classes],
        [c[1] for c in classes],
        [c[2] for c in classes],
        has_reference,
        position_group,
    )


def group_answers(
    answer_lists: Sequence[Sequence[str | None]],
    references: Sequence[str | None],
    verifier: Verifier,
) -> list[AnswerGroups]:
    """Answer groups for each problem (its answers in sample order, and its reference or None)."""
    batch: list[tuple[str, str]] = []
    plans = [
        _plan(answers, reference, batch)
        for answers, reference in zip(answer_lists, references, strict=True)
    ]
    verdicts = [v.equal for v in verifier.compare(batch)] if batch else []
    return [
        _build(plan, verdicts, reference is not None)
        for plan, reference in zip(plans, references, strict=True)
    ]
