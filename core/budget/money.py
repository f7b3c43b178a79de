"""Exact money: parsing amounts into `Decimal` and context-independent arithmetic.

Every amount inside the core is a finite, non-negative `decimal.Decimal` with
at most `MAX_PLACES` decimal places and a magnitude below `MAX_AMOUNT`. Those
bounds are what make sums exact: any amount fits in 36 significant digits, and
`MONEY_CONTEXT` carries 50, so totals over billions of records never round.
Arithmetic goes through the module's own contexts, never the thread's ambient
one, so a caller that changes `decimal.getcontext()` cannot change a result.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from core.errors import BudgetError, describe

__all__ = [
    "MAX_AMOUNT",
    "MAX_PLACES",
    "MONEY_CONTEXT",
    "RATIO_CONTEXT",
    "ZERO",
    "format_money",
    "money_add",
    "money_mean",
    "money_mul",
    "money_sub",
    "money_sum",
    "ratio",
    "round_places",
    "to_money",
    "to_optional_money",
]

ZERO = Decimal(0)

#: Finest unit an amount may carry (18 places, like the smallest crypto units).
MAX_PLACES = 18
_QUANTUM = Decimal(1).scaleb(-MAX_PLACES)

#: Amounts must stay strictly below this (10**18).
MAX_AMOUNT = Decimal(10) ** 18

#: Context for sums and differences. `Inexact` is trapped: a sum that would
#: have to round is an error, never a silent drift.
MONEY_CONTEXT = decimal.Context(
    prec=50,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow, decimal.Inexact],
)

#: Context for divisions (means, ratios, percentages), which may legitimately round.
RATIO_CONTEXT = decimal.Context(
    prec=28,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

# Means may round (a third), but carry the sums' precision; see `money_mean`.
_MEAN_CONTEXT = RATIO_CONTEXT.copy()
_MEAN_CONTEXT.prec = MONEY_CONTEXT.prec


def _reject(field: str, value: Any, why: str) -> BudgetError:
    return BudgetError(f"{field} must be {why}, got {describe(value)}", field=field, value=value)


def to_money(value: Any, field: str) -> Decimal:
    """Convert an input amount to an exact, non-negative `Decimal`.

    A float goes through `str`, so ``0.1`` becomes ``Decimal("0.1")`` rather
    than the binary approximation. ``-0`` becomes ``0``; trailing zeros beyond
    `MAX_PLACES` are dropped when that loses nothing.

    Args:
        value: An ``int``, ``str``, ``Decimal`` or ``float``.
        field: Name of the input, used in the error.

    Returns:
        The amount as a `Decimal`.

    Raises:
        BudgetError: For ``None``, booleans, other types, non-numeric strings,
            NaN, infinities, negatives, more than `MAX_PLACES` decimal places,
            or amounts of `MAX_AMOUNT` or more. The error names field and value.
    """
    # bool is an int subclass; True dollars is always a bug upstream.
    if value is None or isinstance(value, bool):
        raise _reject(field, value, "an amount (int, str, Decimal or float)")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _reject(field, value, "a finite amount")
        amount = Decimal(str(value))
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise _reject(field, value, "a numeric amount") from None
    else:
        raise _reject(field, value, "an amount (int, str, Decimal or float)")

    if not amount.is_finite():
        raise _reject(field, value, "a finite amount")
    if amount < 0:
        raise _reject(field, value, "a non-negative amount")
    if amount >= MAX_AMOUNT:
        raise _reject(field, value, f"below {MAX_AMOUNT:,.0f}")
    if amount.is_zero():
        return ZERO
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked above
    if exponent < -MAX_PLACES:
        try:
            amount = amount.quantize(_QUANTUM, context=MONEY_CONTEXT)
        except decimal.Inexact:
            raise _reject(
                field, value, f"an amount with at most {MAX_PLACES} decimal places"
            ) from None
    return amount


def to_optional_money(value: Any, field: str) -> Decimal | None:
    """Like `to_money`, but ``None`` passes through as "unlimited".

    Args:
        value: An amount, or ``None``.
        field: Name of the input, used in the error.

    Returns:
        The amount, or ``None``.

    Raises:
        BudgetError: As `to_money`, for any value other than ``None``.
    """
    return None if value is None else to_money(value, field)


def money_add(a: Decimal, b: Decimal) -> Decimal:
    """Return ``a + b`` computed exactly in `MONEY_CONTEXT`.

    Raises:
        BudgetError: If the sum cannot be represented exactly (astronomical totals).
    """
    try:
        return MONEY_CONTEXT.add(a, b)
    except (decimal.Inexact, decimal.Overflow):
        raise BudgetError(
            f"sum {a} + {b} exceeds exact precision", field="amount", value=b
        ) from None


def money_sub(a: Decimal, b: Decimal) -> Decimal:
    """Return ``a - b`` computed exactly in `MONEY_CONTEXT` (may be negative).

    Raises:
        BudgetError: If the difference cannot be represented exactly.
    """
    try:
        return MONEY_CONTEXT.subtract(a, b)
    except (decimal.Inexact, decimal.Overflow):
        raise BudgetError(
            f"difference {a} - {b} exceeds exact precision", field="amount", value=b
        ) from None


def money_mul(amount: Decimal, count: int) -> Decimal:
    """Return ``amount * count`` computed exactly in `MONEY_CONTEXT`.

    Raises:
        BudgetError: If the product cannot be represented exactly.
    """
    try:
        return MONEY_CONTEXT.multiply(amount, Decimal(count))
    except (decimal.Inexact, decimal.Overflow):
        raise BudgetError(
            f"product {amount} * {count} exceeds exact precision", field="count", value=count
        ) from None


def money_sum(amounts: Iterable[Decimal]) -> Decimal:
    """Return the exact sum of ``amounts`` (``0`` when empty)."""
    total = ZERO
    for amount in amounts:
        total = money_add(total, amount)
    return total


def money_mean(amounts: Iterable[Decimal]) -> Decimal:
    """Return the mean of ``amounts``, rounded half-even to `MAX_PLACES` places if needed.

    The mean feeds back into reservations and sums, so it is kept on the same
    grid as every other amount; exact means (``0.15``) keep their own exponent.

    Raises:
        BudgetError: If ``amounts`` is empty.
    """
    values = list(amounts)
    if not values:
        raise BudgetError("mean of no amounts is undefined", field="amounts", value=values)
    # Divided with the sums' 50 digits, not the ratios' 28: a mean of amounts
    # near MAX_AMOUNT has 36 digits, and 28 would round it up to MAX_AMOUNT itself.
    mean = _MEAN_CONTEXT.divide(money_sum(values), Decimal(len(values)))
    exponent = mean.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -MAX_PLACES:
        mean = mean.quantize(_QUANTUM, context=_MEAN_CONTEXT)
    return mean


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """Return ``numerator / denominator`` in `RATIO_CONTEXT`; ``None`` for a zero denominator."""
    if denominator.is_zero():
        return None
    return RATIO_CONTEXT.divide(numerator, denominator)


def round_places(value: Decimal, places: int) -> Decimal:
    """Return ``value`` quantized half-even to exactly ``places`` decimal places; never raises.

    Derived figures (percentages, amounts in messages) are rounded for
    display. Quantizing in a fixed-precision context fails once the result
    needs more digits than the context carries (a bias of 1e38 % to one
    place needs 40), so the context here is sized to the result. O(digits).
    """
    if not value.is_finite():
        return value
    context = RATIO_CONTEXT.copy()
    context.prec = max(context.prec, value.adjusted() + places + 2)
    return value.quantize(Decimal(1).scaleb(-places), context=context)


def format_money(amount: Decimal | None) -> str:
    """Render an amount for a human-readable message (``"unlimited"`` for ``None``).

    Messages show at most 4 decimal places (a learned mean such as 1.4683333...
    would otherwise print 18); the exact amount stays in the data.
    """
    if amount is None:
        return "unlimited"
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        amount = round_places(amount, 4)
    return f"{amount:f}"
