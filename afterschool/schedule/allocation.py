"""The allocation of a choice window, as a pure function (no database): easy to test with hypothesis and to time.

Children with priority (left-behind, migrant family) come first, then the rest; inside each group the order is a
lottery drawn from a recorded seed, so the same seed gives the same result. First choices are filled in that order,
then second choices for those still without a place, then third. Whoever is left waits on each of their choices,
in the same order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Applicant:
    student_id: int
    priority: bool
    choices: tuple[int, ...]  # programme ids, best first, at most 3, distinct
    excluded: frozenset[int] = frozenset()  # programmes the child cannot take (a clash with their timetable)


@dataclass
class Result:
    seed: int
    lottery: dict[int, int]  # student id → lottery number (1 = drawn first)
    placed: dict[int, tuple[int, int]] = field(default_factory=dict)  # student id → (programme id, rank 1..3)
    waitlist: dict[int, list[int]] = field(default_factory=dict)  # programme id → student ids, in order


def lottery_numbers(student_ids, seed: int) -> dict[int, int]:
    order = sorted(set(student_ids))
    random.Random(seed).shuffle(order)
    return {sid: i + 1 for i, sid in enumerate(order)}


def allocate(applicants: list[Applicant], free_places: dict[int, int], seed: int) -> Result:
    lottery = lottery_numbers((a.student_id for a in applicants), seed)
    queue = sorted(applicants, key=lambda a: (not a.priority, lottery[a.student_id]))
    left = {pid: max(0, n) for pid, n in free_places.items()}
    result = Result(seed=seed, lottery=lottery)
    for rank in range(3):
        for a in queue:
            if a.student_id in result.placed or rank >= len(a.choices):
                continue
            pid = a.choices[rank]
            if pid in a.excluded or left.get(pid, 0) <= 0:
                continue
            left[pid] -= 1
            result.placed[a.student_id] = (pid, rank + 1)
    for a in queue:
        if a.student_id in result.placed:
            continue
        for pid in a.choices:
            if pid not in a.excluded:
                result.waitlist.setdefault(pid, []).append(a.student_id)
    return result
