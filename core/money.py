"""Money: Decimal yuan, to the fen. The one place that knows how an amount is read, rounded, printed, added up and
shared out.

- `to_decimal` reads str, int or Decimal; a float is refused (TypeError): binary fractions are not money. A value
  that arrives as a float from outside (a JSON number, a spreadsheet cell) is read from its text, `str(value)`, at
  that boundary.
- `exact` takes an amount that must already be to the fen (120, "120.5", Decimal("120.50")) and refuses one with
  more decimals: money given to us is never silently rounded.
- `quantize` rounds a computed amount (a share of a price, a pro-rata refund) to the fen, half up (0.005 -> 0.01).
- `fmt` prints it the one way, "120.00"; `total` adds amounts; `split` shares an amount out by weights to the fen
  with largest remainders, the parts always summing to the whole.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
ROUNDING = ROUND_HALF_UP


class MoneyError(ValueError):
    """Not an amount of money: not a number, not finite, not to the fen where it must be, a negative amount or
    weight to share."""


def to_decimal(value: Decimal | int | str) -> Decimal:
    """The Decimal of a str, int or Decimal (text may have spaces around it). Floats and booleans are refused with
    TypeError; text that is not a number raises MoneyError. NaN and infinities come back as such (see `is_exact`)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"money is read from str, int or Decimal, not {type(value).__name__}")
    try:
        return Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError):
        raise MoneyError(f"{value!r} is not a number") from None


def is_exact(value: Decimal) -> bool:
    """A finite amount with nothing below the fen."""
    if not value.is_finite():
        return False
    try:
        return value == value.quantize(FEN)
    except InvalidOperation:  # more digits than the context holds: not a sum of money
        return False


def exact(value: Decimal | int | str) -> Decimal:
    """An amount that must already be to the fen, as a Decimal with two places; MoneyError otherwise."""
    amount = to_decimal(value)
    if not is_exact(amount):
        raise MoneyError(f"{value} is not an amount to the fen")
    return amount.quantize(FEN)


def quantize(value: Decimal | int | str) -> Decimal:
    """A computed amount rounded to the fen, half up (the one rounding of money)."""
    amount = to_decimal(value)
    if not amount.is_finite():
        raise MoneyError(f"{value} is not a finite amount")
    try:
        return amount.quantize(FEN, rounding=ROUNDING)
    except InvalidOperation:
        raise MoneyError(f"{value} is too large an amount") from None


def fmt(value: Decimal | int | str) -> str:
    """The amount as printed everywhere (API answers, audit data, messages): "120.00", "-3.50"."""
    return f"{quantize(value):f}"


def fmt_optional(value: Decimal | int | str | None) -> str | None:
    return None if value is None else fmt(value)


def total(values: Iterable[Decimal | int | str]) -> Decimal:
    """The sum of amounts, to the fen (ZERO for none)."""
    return quantize(sum((to_decimal(v) for v in values), ZERO))


def split(amount: Decimal | int | str, weights: Mapping[Hashable, Decimal | int | str]) -> dict:
    """`amount` (to the fen) shared in proportion to `weights`, every part to the fen and the parts summing exactly
    to `amount`.

    Largest-remainder rounding: every part first gets its exact share rounded down to the fen; the fen left over go
    one each to the parts with the largest remainders. Ties go to the smaller key (ids as numbers, names as text), so
    the same inputs give the same split whatever order they come in. Every key gets a part (zero weight: zero); with
    no weight at all nothing can be shared and every part is zero."""
    total_fen = int(exact(amount) / FEN)
    if total_fen < 0:
        raise MoneyError("the amount to share is negative")
    clean = {key: to_decimal(w) for key, w in weights.items()}
    if any(not w.is_finite() for w in clean.values()):
        raise MoneyError("a weight is not a finite number")
    if any(w < 0 for w in clean.values()):
        raise MoneyError("a weight is negative")
    weight_sum = sum(clean.values(), Decimal(0))
    if not clean or weight_sum == 0:
        return {key: ZERO for key in clean}
    floors: dict = {}
    remainders: list[tuple[Decimal, Hashable]] = []
    for key, weight in clean.items():
        exact_fen = Decimal(total_fen) * weight / weight_sum
        floor = int(exact_fen.to_integral_value(rounding=ROUND_FLOOR))
        floors[key] = floor
        remainders.append((exact_fen - floor, key))
    left = total_fen - sum(floors.values())
    for _, key in sorted(remainders, key=lambda r: (-r[0], _order(r[1])))[:left]:
        floors[key] += 1
    return {key: (Decimal(fen) * FEN).quantize(FEN) for key, fen in floors.items()}


def _order(key: Hashable) -> tuple:
    """Keys of one kind sort naturally (ids as numbers, names as text); mixed kinds by their text."""
    if isinstance(key, tuple):
        return tuple(_order(k) for k in key)
    if isinstance(key, int | Decimal):
        return (0, key, "")
    return (1, 0, str(key))
