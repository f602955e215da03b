"""Price consensus: one median price, or a refusal; stale or missing quotes are never used."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from strategy import DenyReason, PriceQuote, price_consensus
from tests.unit.strategy.builders import NOW, PARAMS

D = Decimal


def q(source: str, price: str, age_s: float = 0) -> PriceQuote:
    return PriceQuote(source=source, price=D(price), at=NOW - timedelta(seconds=age_s))


def test_agreeing_sources_give_the_median() -> None:
    c = price_consensus([q("hl", "100"), q("pyth", "100.2"), q("asgard", "100.1")], NOW, PARAMS)
    assert c.ok and c.price == D("100.1")
    assert c.deviation == D("0.2") / D("100.1")


def test_two_sources_give_their_mid() -> None:
    assert price_consensus([q("a", "100"), q("b", "100.4")], NOW, PARAMS).price == D("100.2")


def test_deviation_at_the_limit_is_accepted_and_just_above_refused() -> None:
    # (high - low) / median with median 100: 0.5 exactly is at the 0.5% limit
    at = price_consensus([q("a", "99.75"), q("b", "100.25"), q("c", "100")], NOW, PARAMS)
    assert at.ok
    above = price_consensus([q("a", "99.75"), q("b", "100.2501"), q("c", "100")], NOW, PARAMS)
    assert above.refusal is DenyReason.PRICE_DEVIATION and above.price is None
    below = price_consensus([q("a", "99.76"), q("b", "100.25"), q("c", "100")], NOW, PARAMS)
    assert below.ok


def test_a_quote_at_the_age_limit_is_used_and_one_microsecond_older_refused() -> None:
    limit = PARAMS.quotes.max_age_seconds
    assert price_consensus([q("a", "100", limit)], NOW, PARAMS).ok
    stale = price_consensus([q("a", "100", limit + 0.000001)], NOW, PARAMS)
    assert stale.refusal is DenyReason.QUOTE_STALE


def test_a_quote_from_the_future_beyond_the_limit_is_refused() -> None:
    c = price_consensus([q("a", "100", -(PARAMS.quotes.max_age_seconds + 1))], NOW, PARAMS)
    assert c.refusal is DenyReason.QUOTE_STALE


def test_a_required_source_that_did_not_answer_is_refused() -> None:
    c = price_consensus({"hl": q("hl", "100"), "pyth": None}, NOW, PARAMS)
    assert c.refusal is DenyReason.QUOTE_MISSING and "pyth" in c.detail
    c = price_consensus([q("hl", "100")], NOW, PARAMS, required=["hl", "asgard"])
    assert c.refusal is DenyReason.QUOTE_MISSING


def test_nothing_at_all_is_refused() -> None:
    assert price_consensus([], NOW, PARAMS).refusal is DenyReason.QUOTE_MISSING


def test_zero_negative_and_duplicate_quotes_are_invalid() -> None:
    assert price_consensus([q("a", "0")], NOW, PARAMS).refusal is DenyReason.QUOTE_INVALID
    assert price_consensus([q("a", "-1")], NOW, PARAMS).refusal is DenyReason.QUOTE_INVALID
    dup = price_consensus([q("a", "100"), q("a", "100")], NOW, PARAMS)
    assert dup.refusal is DenyReason.QUOTE_INVALID


def test_an_optional_stale_source_is_ignored_when_not_required() -> None:
    c = price_consensus([q("hl", "100"), q("spare", "50", 3600)], NOW, PARAMS, required=["hl"])
    assert c.ok and c.price == D("100")


quote_st = st.builds(
    lambda src, price, age: (src, price, age),
    st.sampled_from(["hl", "asgard", "pyth", "jup"]),
    st.decimals(min_value=D("1"), max_value=D("1000"), places=4),
    st.floats(min_value=-5, max_value=5),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(quote_st, min_size=1, max_size=4, unique_by=lambda t: t[0]),
    st.sampled_from(["stale", "missing"]),
    st.sampled_from(["hl", "asgard", "pyth", "jup"]),
)
def test_any_input_with_a_stale_or_missing_required_quote_is_refused(
    fresh: list[tuple[str, Decimal, float]], fault: str, victim: str
) -> None:
    quotes: dict[str, PriceQuote | None] = {
        s: PriceQuote(source=s, price=p, at=NOW - timedelta(seconds=a)) for s, p, a in fresh
    }
    required = set(quotes) | {victim}
    if fault == "missing":
        quotes[victim] = None
    else:
        old = PARAMS.quotes.max_age_seconds + 1
        quotes[victim] = PriceQuote(source=victim, price=D(100), at=NOW - timedelta(seconds=old))
    c = price_consensus(quotes, NOW, PARAMS, required=required)
    assert not c.ok and c.price is None
    assert c.refusal in (DenyReason.QUOTE_MISSING, DenyReason.QUOTE_STALE)
