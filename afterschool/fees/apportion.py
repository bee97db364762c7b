"""Sharing an amount of money out exactly to the fen (R-ASS-3, R-PAY-1): the parts always add up to the whole.

Largest-remainder rounding: every part first gets its exact share rounded down to the fen; the fen left over go one
each to the parts with the largest remainders. Ties are broken by the parts' keys in ascending order, so the same
inputs always give the same split, whatever order they come in. Pure functions: the fee-allocation services compute
weights in the database (lessons delivered per person) and hand them here.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import ROUND_FLOOR, Decimal

FEN = Decimal("0.01")
HUNDRED_PERCENT = Decimal("100")


class ApportionError(ValueError):
    """Inputs that cannot be shared out: a negative amount or weight, shares that do not make 100 %."""


def to_fen(amount: Decimal | int | str) -> Decimal:
    """An amount in yuan that must already be exact to the fen (no silent rounding of money)."""
    value = Decimal(amount)
    if value != value.quantize(FEN):
        raise ApportionError(f"{amount} is not an amount to the fen")
    return value.quantize(FEN)


def split_by_weights(amount: Decimal | int | str, weights: Mapping[Hashable, Decimal | int]) -> dict:
    """`amount` shared in proportion to `weights` (e.g. lessons delivered, weighted by programme kind).

    Every key gets a part (zero weight: zero); the parts sum exactly to `amount`. With no weight at all nothing can be
    shared: every part is zero and the caller reports the amount as not allocated rather than guessing."""
    total_fen = int(to_fen(amount) / FEN)
    if total_fen < 0:
        raise ApportionError("the amount to share is negative")
    clean = {key: Decimal(w) for key, w in weights.items()}
    if any(w < 0 for w in clean.values()):
        raise ApportionError("a weight is negative")
    weight_sum = sum(clean.values(), Decimal(0))
    if not clean or weight_sum == 0:
        return {key: Decimal("0.00") for key in clean}
    floors: dict = {}
    remainders: list[tuple[Decimal, Hashable]] = []
    for key, weight in clean.items():
        exact = Decimal(total_fen) * weight / weight_sum  # in fen
        floor = int(exact.to_integral_value(rounding=ROUND_FLOOR))
        floors[key] = floor
        remainders.append((exact - floor, key))
    left = total_fen - sum(floors.values())
    # Largest remainder first; equal remainders go to the smaller key (sorted by a stable text form of the key).
    for _, key in sorted(remainders, key=lambda r: (-r[0], _order(r[1])))[:left]:
        floors[key] += 1
    return {key: (Decimal(fen) * FEN).quantize(FEN) for key, fen in floors.items()}


def split_by_shares(amount: Decimal | int | str, shares_percent: Mapping[Hashable, Decimal | int | str]) -> dict:
    """`amount` split by percentages that must sum to exactly 100 (teacher pay, outside personnel, operations,
    reserve)."""
    shares = {key: Decimal(str(p)) for key, p in shares_percent.items()}
    if any(p < 0 for p in shares.values()):
        raise ApportionError("a share is negative")
    if sum(shares.values(), Decimal(0)) != HUNDRED_PERCENT:
        raise ApportionError("the shares must sum to 100 %")
    return split_by_weights(amount, shares)


def _order(key: Hashable) -> tuple:
    """Keys of one kind sort naturally (ids as numbers, names as text); mixed kinds by their text."""
    if isinstance(key, tuple):
        return tuple(_order(k) for k in key)
    if isinstance(key, int | Decimal):
        return (0, key, "")
    return (1, 0, str(key))
