"""Fault decisions: reproducible with a seed, bursts of 429 first, nothing when switched off."""

from __future__ import annotations

from sandbox.dotdigital.account.faults import FaultInjector, FaultSettings


def test_no_faults_by_default() -> None:
    faults = FaultInjector()
    decisions = [faults.decide() for _ in range(100)]
    assert all(d.error_status is None and not d.drop_connection for d in decisions)
    assert faults.injected == 0


def test_the_same_seed_fails_the_same_calls() -> None:
    settings = FaultSettings(error_rate=0.3, drop_connection_rate=0.1, seed=7)
    runs = []
    for _ in range(2):
        faults = FaultInjector()
        faults.configure(settings)
        runs.append(
            [(d.error_status, d.drop_connection) for d in (faults.decide() for _ in range(200))]
        )
    assert runs[0] == runs[1]
    errors = sum(1 for status, _ in runs[0] if status == 500)
    assert 30 < errors < 90


def test_burst_429_comes_first_then_stops() -> None:
    faults = FaultInjector()
    faults.configure(FaultSettings(burst_429=2))
    assert [faults.decide().rate_limited for _ in range(4)] == [True, True, False, False]
    assert faults.injected == 2


def test_certain_errors_carry_status_and_body_kind() -> None:
    faults = FaultInjector()
    faults.configure(FaultSettings(error_rate=1.0, error_status=503, error_body="html"))
    decision = faults.decide()
    assert (decision.error_status, decision.error_body) == (503, "html")


def test_a_dropped_connection_is_not_also_an_error() -> None:
    faults = FaultInjector()
    faults.configure(FaultSettings(error_rate=1.0, drop_connection_rate=1.0))
    decision = faults.decide()
    assert decision.drop_connection
    assert decision.error_status is None


def test_reconfiguring_replaces_every_fault() -> None:
    faults = FaultInjector()
    faults.configure(FaultSettings(error_rate=1.0, fail_imports=True))
    faults.configure(FaultSettings())
    assert faults.decide().error_status is None
    assert not faults.settings.fail_imports


def test_delay_rate_slows_only_a_share_of_calls() -> None:
    injector = FaultInjector()
    injector.configure(FaultSettings(delay_seconds=3.0, delay_rate=0.25, seed=4))

    delays = [injector.decide().delay_seconds for _ in range(400)]

    assert set(delays) == {0.0, 3.0}
    assert 60 < delays.count(3.0) < 140


def test_the_sink_fault_run_injects_five_faults_within_its_first_eleven_calls() -> None:
    """What tests/integration/test_sink_faults.py counts on, whatever the lanes' batching."""
    faults = FaultInjector()
    faults.configure(
        FaultSettings(
            error_rate=0.2,
            error_status=503,
            error_body="html",
            burst_429=3,
            drop_connection_rate=0.03,
            delay_seconds=4.0,
            delay_rate=0.05,
            seed=11,
        )
    )
    for _ in range(11):
        faults.decide()

    assert faults.injected >= 5
