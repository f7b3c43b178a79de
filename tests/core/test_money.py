"""Tests for core.budget.money: parsing amounts exactly and context-independent arithmetic."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

from core.budget.money import (
    MAX_AMOUNT,
    format_money,
    money_add,
    money_mean,
    money_mul,
    money_sub,
    money_sum,
    ratio,
    to_money,
    to_optional_money,
)
from core.errors import BudgetError, StateError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, Decimal(0)),
        (7, Decimal(7)),
        ("1.50", Decimal("1.50")),
        (" 2.25 ", Decimal("2.25")),
        (Decimal("3.333"), Decimal("3.333")),
        (0.1, Decimal("0.1")),
        (1e-5, Decimal("0.00001")),
        ("1e3", Decimal(1000)),
    ],
)
def test_to_money_accepts_numbers(value: object, expected: Decimal) -> None:
    """to_money turns ints, strings, Decimals and floats into the exact Decimal meant."""
    result = to_money(value, "price")
    assert isinstance(result, Decimal)
    assert result == expected


def test_float_goes_through_str() -> None:
    """A float is converted via str, so 0.1 is exactly Decimal('0.1'), not its binary value."""
    assert to_money(0.1, "price") == Decimal("0.1")
    assert to_money(0.1, "price") != Decimal.from_float(0.1)


def test_negative_zero_becomes_zero() -> None:
    """-0 is accepted as zero and loses its sign."""
    result = to_money(Decimal("-0.00"), "price")
    assert result == 0
    assert not result.is_signed()


def test_excess_trailing_zeros_are_dropped() -> None:
    """Trailing zeros beyond 18 places lose nothing and are accepted."""
    assert to_money("1.00000000000000000000000", "price") == Decimal(1)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (None, "an amount"),
        (True, "an amount"),
        (False, "an amount"),
        ([1], "an amount"),
        (b"1", "an amount"),
        ("abc", "numeric"),
        ("", "numeric"),
        ("1,5", "numeric"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (float("-inf"), "finite"),
        ("NaN", "finite"),
        ("sNaN", "finite"),
        ("-Infinity", "finite"),
        (Decimal("Infinity"), "finite"),
        (-1, "non-negative"),
        ("-0.01", "non-negative"),
        (-0.5, "non-negative"),
        (Decimal("-3"), "non-negative"),
        ("1e-19", "18 decimal places"),
        (MAX_AMOUNT, "below"),
        (10**30, "below"),
    ],
)
def test_to_money_rejects_bad_values(value: object, why: str) -> None:
    """Bad amounts raise BudgetError naming the field and the value."""
    with pytest.raises(BudgetError) as info:
        to_money(value, "max_total_spend")
    err = info.value
    assert isinstance(err, StateError)
    assert isinstance(err, ValueError)
    assert err.field == "max_total_spend"
    assert err.value is value
    assert "max_total_spend" in str(err)
    assert repr(value) in str(err)
    assert why in str(err)


def test_to_optional_money_passes_none() -> None:
    """None means unlimited and passes through; anything else is validated."""
    assert to_optional_money(None, "total_budget") is None
    assert to_optional_money("5", "total_budget") == Decimal(5)
    with pytest.raises(BudgetError, match="total_budget"):
        to_optional_money("x", "total_budget")


def test_ten_dimes_make_exactly_one() -> None:
    """Adding 0.1 ten times gives exactly Decimal('1.0'), unlike float."""
    total = Decimal(0)
    for _ in range(10):
        total = money_add(total, to_money(0.1, "actual"))
    assert total == Decimal("1.0")
    assert str(total) == "1.0"
    assert money_sum([to_money(0.1, "actual")] * 10) == Decimal("1.0")


def test_arithmetic_ignores_ambient_context() -> None:
    """A caller lowering the thread's decimal precision cannot make sums round."""
    a = Decimal("123456789.123456789")
    b = Decimal("0.000000001")
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        assert money_add(a, b) == Decimal("123456789.123456790")
        assert money_sub(a, b) == Decimal("123456789.123456788")
        assert money_mul(a, 3) == Decimal("370370367.370370367")
        assert money_mean([Decimal(1), Decimal(2)]) == Decimal("1.5")


def test_sums_at_the_bounds_stay_exact() -> None:
    """The largest amount plus the finest unit is represented exactly."""
    big = to_money("999999999999999999.999999999999999999", "total_budget")
    tiny = to_money("0.000000000000000001", "actual")
    assert money_sub(money_add(big, tiny), big) == tiny


def test_sum_beyond_exact_precision_raises() -> None:
    """A sum that would have to round raises BudgetError instead of drifting."""
    with pytest.raises(BudgetError, match="exact precision"):
        money_add(Decimal("1e60"), Decimal("0.000000000000000001"))


def test_money_sub_may_go_negative() -> None:
    """Differences are exact and may be negative (an overrun)."""
    assert money_sub(Decimal("1.0"), Decimal("1.5")) == Decimal("-0.5")


def test_money_mean_rounds_to_eighteen_places() -> None:
    """A repeating mean is rounded half-even to 18 places; exact means keep their digits."""
    assert money_mean([Decimal(1), Decimal(1), Decimal(2)]) == Decimal("1.333333333333333333")
    assert money_mean([Decimal(2), Decimal(2), Decimal(1)]) == Decimal("1.666666666666666667")
    assert str(money_mean([Decimal("0.1"), Decimal("0.2")])) == "0.15"


def test_money_mean_of_nothing_raises() -> None:
    """The mean of no amounts is undefined and raises BudgetError."""
    with pytest.raises(BudgetError, match="mean"):
        money_mean([])


def test_ratio_handles_zero_denominator() -> None:
    """ratio divides, and returns None when the denominator is zero."""
    assert ratio(Decimal(1), Decimal(4)) == Decimal("0.25")
    assert ratio(Decimal(1), Decimal(0)) is None


def test_format_money() -> None:
    """Amounts render in plain notation; None renders as 'unlimited'."""
    assert format_money(Decimal("1E+3")) == "1000"
    assert format_money(Decimal("0.10")) == "0.10"
    assert format_money(None) == "unlimited"


def test_format_money_rounds_long_amounts_for_messages_only() -> None:
    """Messages show at most 4 decimal places; short amounts print as they are."""
    from core.budget.money import format_money

    assert format_money(Decimal("1.468333333333333333")) == "1.4683"
    assert format_money(Decimal("5.005")) == "5.005"
    assert format_money(Decimal("51.25")) == "51.25"
    assert format_money(None) == "unlimited"
