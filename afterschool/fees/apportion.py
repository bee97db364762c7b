"""Sharing an amount of money out exactly to the fen (R-ASS-3, R-PAY-1): the parts always add up to the whole.

Largest-remainder rounding (`core.money.split`, the one place money is rounded): every part first gets its exact
share rounded down to the fen; the fen left over go one each to the parts with the largest remainders. Ties are
broken by the parts' keys in ascending order, so the same inputs always give the same split, whatever order they come
in. Pure functions: the fee-allocation services compute weights in the database (lessons delivered per person) and
hand them here.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import Decimal

from core import money

HUNDRED_PERCENT = Decimal("100")


class ApportionError(ValueError):
    """Inputs that cannot be shared out: a negative amount or weight, shares that do not make 100 %."""


def to_fen(amount: Decimal | int | str) -> Decimal:
    """An amount in yuan that must already be exact to the fen (no silent rounding of money)."""
    try:
        return money.exact(amount)
    except money.MoneyError as exc:
        raise ApportionError(str(exc)) from None


def split_by_weights(amount: Decimal | int | str, weights: Mapping[Hashable, Decimal | int]) -> dict:
    """`amount` shared in proportion to `weights` (e.g. lessons delivered, weighted by programme kind), by
    `core.money.split`.

    Every key gets a part (zero weight: zero); the parts sum exactly to `amount`. With no weight at all nothing can be
    shared: every part is zero and the caller reports the amount as not allocated rather than guessing."""
    try:
        return money.split(amount, weights)
    except money.MoneyError as exc:
        raise ApportionError(str(exc)) from None


def split_by_shares(amount: Decimal | int | str, shares_percent: Mapping[Hashable, Decimal | int | str]) -> dict:
    """`amount` split by percentages that must sum to exactly 100 (teacher pay, outside personnel, operations,
    reserve)."""
    shares = {key: Decimal(str(p)) for key, p in shares_percent.items()}
    if any(p < 0 for p in shares.values()):
        raise ApportionError("a share is negative")
    if sum(shares.values(), Decimal(0)) != HUNDRED_PERCENT:
        raise ApportionError("the shares must sum to 100 %")
    return split_by_weights(amount, shares)
