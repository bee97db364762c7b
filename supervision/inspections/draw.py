"""The random draw of an inspection plan (双随机): which institutions are inspected, and by which inspectors.

A pure function of its inputs and a seed, so a draw can be replayed and checked: the same seed on the same candidates,
rule and pool gives the same result whatever order the inputs come in (they are sorted first), and the seed is kept
with the plan. The rule is R-INSP-1 (POLICY.md): a share of the candidates overall, or a share per risk grade.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

GRADES = ("A", "B", "C", "D")
ALL = "all"  # the one stratum of an overall share


@dataclass(frozen=True)
class Candidate:
    institution_id: int
    risk_grade: str = "A"


@dataclass(frozen=True)
class Inspector:
    user_id: int
    conflicts: frozenset[int] = frozenset()  # institutions this inspector declared a conflict of interest with


@dataclass(frozen=True)
class SamplingRule:
    """Either `overall` (a share of every candidate) or `by_grade` (a share per risk grade)."""

    overall: Decimal | None = None
    by_grade: Mapping[str, Decimal] | None = None

    def strata_shares(self) -> dict[str, Decimal]:
        if self.by_grade is not None:
            return {grade: Decimal(self.by_grade.get(grade, 0)) for grade in GRADES}
        return {ALL: Decimal(self.overall or 0)}


@dataclass(frozen=True)
class Assignment:
    institution_id: int
    inspector_ids: tuple[int, ...]


@dataclass
class DrawResult:
    seed: str
    assignments: list[Assignment] = field(default_factory=list)
    # Per stratum: how many candidates it had and how many were drawn from it.
    strata: dict[str, dict[str, int]] = field(default_factory=dict)
    # Drawn, but no team could be made without a conflict of interest: the plan's owner must widen the pool.
    unstaffed: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "seed": self.seed,
            "assignments": [
                {"institution_id": a.institution_id, "inspector_ids": list(a.inspector_ids)} for a in self.assignments
            ],
            "strata": self.strata,
            "unstaffed": self.unstaffed,
        }


def sample_size(pool: int, share: Decimal) -> int:
    """How many of `pool` a share asks for, rounded up: 10 % of 15 is 2, and a stratum with any candidate and a
    share above zero gives at least one (a small town's high-risk institution is not skipped by rounding)."""
    if pool <= 0 or share <= 0:
        return 0
    return min(pool, math.ceil(Decimal(pool) * Decimal(share) - Decimal("1e-9")))


def draw(
    *,
    candidates: Iterable[Candidate],
    rule: SamplingRule,
    inspectors: Iterable[Inspector],
    team_size: int,
    seed: str,
    exclude: Iterable[int] = (),
) -> DrawResult:
    """Draw institutions per stratum, then give each a team of `team_size` inspectors without a conflict of interest,
    spreading the visits evenly over the pool. `exclude`: institutions left out (inspected recently)."""
    if team_size < 1:
        raise ValueError("team_size must be at least 1")
    rng = random.Random(seed)  # a str seed is hashed (SHA-512): the same on every machine and Python version
    left_out = set(exclude)
    unique = {c.institution_id: c for c in candidates if c.institution_id not in left_out}
    pool = sorted(unique.values(), key=lambda c: c.institution_id)
    shares = rule.strata_shares()
    result = DrawResult(seed=seed)
    drawn: list[int] = []
    for stratum, share in shares.items():
        members = [c.institution_id for c in pool if stratum == ALL or c.risk_grade == stratum]
        chosen = sorted(rng.sample(members, sample_size(len(members), share)))
        result.strata[stratum] = {"candidates": len(members), "drawn": len(chosen)}
        drawn.extend(chosen)

    team_pool = sorted({i.user_id: i for i in inspectors}.values(), key=lambda i: i.user_id)
    load = {i.user_id: 0 for i in team_pool}
    for institution_id in drawn:
        eligible = [i for i in team_pool if institution_id not in i.conflicts]
        if len(eligible) < team_size:
            result.unstaffed.append(institution_id)
            continue
        rng.shuffle(eligible)  # ties in load are broken at random, reproducibly
        eligible.sort(key=lambda i: load[i.user_id])  # stable: the shuffle decides among equals
        team = tuple(sorted(i.user_id for i in eligible[:team_size]))
        for user_id in team:
            load[user_id] += 1
        result.assignments.append(Assignment(institution_id, team))
    return result
