"""The shared fault injector: matching, counts, probability, seeding."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from venues.emulators.faults import FaultInjector, FaultRule


def test_a_rule_fires_only_at_matching_points_and_only_count_times() -> None:
    f = FaultInjector()
    f.add(FaultRule(kind="http_error", status=503, match="exchange:*", count=2))
    assert f.pick("info:meta") is None
    assert f.pick("exchange:order") is not None
    assert f.pick("exchange:cancel") is not None
    assert f.pick("exchange:order") is None
    assert f.snapshot()[0]["fired"] == 2


def test_kind_filter_lets_an_injection_point_ask_for_the_faults_it_supports() -> None:
    f = FaultInjector()
    f.add(FaultRule(kind="partial_fill", params={"fraction": "0.5"}))
    assert f.pick("exchange:order", kinds={"latency", "http_error"}) is None
    rule = f.pick("exchange:order", kinds={"partial_fill"})
    assert rule is not None and rule.params["fraction"] == "0.5"


def test_probabilistic_faults_replay_identically_for_the_same_seed() -> None:
    def run(seed: int) -> list[bool]:
        f = FaultInjector(seed=seed)
        f.add(FaultRule(kind="latency", probability=0.3))
        return [f.pick("x") is not None for _ in range(200)]

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert 30 < sum(run(1)) < 90


def test_clear_removes_every_rule() -> None:
    f = FaultInjector()
    f.add(FaultRule(kind="timeout", delay_s=30))
    f.clear()
    assert f.pick("anything") is None


def test_an_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValidationError):
        FaultRule.model_validate({"kind": "meteor_strike"})
