"""`make run`'s wiring: the store beacons storefront events to a worker's collector, the workers
get the behaviour triggers' programs and shortened delays, and the progress line counts each
trigger's enrolments."""

from __future__ import annotations

import pytest

from streams.cli.demo import (
    COMMERCE_PORT,
    DEMO_DEFAULTS,
    STORE_URL,
    demo_env,
    demo_programs,
    enrolment_counts,
    store_args,
)
from streams.cli.main import parser
from streams.settings import Settings

DOTDIGITAL = "http://127.0.0.1:8025"
COMMERCE = "http://127.0.0.1:8026"
COLLECTOR = "http://127.0.0.1:6066/storefront/events"


def test_the_workers_get_the_trigger_programs_and_a_shortened_abandon_delay() -> None:
    env = demo_env({"PATH": "/bin"}, dotdigital=DOTDIGITAL, commerce=COMMERCE)
    assert env["PATH"] == "/bin"
    assert env["CARTWRIGHT_DOTDIGITAL__BASE_URL"] == DOTDIGITAL
    assert env["CARTWRIGHT_CARTS__ABANDON_AFTER"] == "120"
    assert float(env["CARTWRIGHT_CARTS__TICK_INTERVAL"]) <= 60
    assert env["CARTWRIGHT_STOREFRONT__ALLOWED_ORIGINS"] == STORE_URL == "https://luma.example.com"
    assert demo_programs(env) == {"post-purchase": 1, "abandoned cart": 2, "browse": 3}


def test_the_callers_environment_wins_over_the_demo_defaults() -> None:
    base = {"CARTWRIGHT_CARTS__ABANDON_AFTER": "30", "CARTWRIGHT_PROGRAMS__BROWSE_ABANDONED": ""}
    env = demo_env(base, dotdigital=DOTDIGITAL, commerce=COMMERCE)
    assert env["CARTWRIGHT_CARTS__ABANDON_AFTER"] == "30"
    assert "browse" not in demo_programs(env)
    assert DEMO_DEFAULTS["CARTWRIGHT_CARTS__ABANDON_AFTER"] == "120"


def test_the_store_beacons_to_the_collector_on_a_clock_that_runs_at_real_time_from_now() -> None:
    webhooks = ["--webhook", "http://127.0.0.1:6066/webhooks/adobe-commerce"]
    args = parser().parse_args(store_args(webhooks, storefront=COLLECTOR, orders=60))
    assert (args.system, args.port, args.orders) == ("commerce", COMMERCE_PORT, 60)
    assert args.webhook == ["http://127.0.0.1:6066/webhooks/adobe-commerce"]
    assert args.storefront == COLLECTOR
    assert args.start_now  # store time (and so a cart's updated_at) starts at the wall clock
    assert args.time_scale == 1.0  # and passes at its pace: timers fire on time


def test_the_progress_line_counts_enrolments_per_trigger() -> None:
    env = demo_env({}, dotdigital=DOTDIGITAL, commerce=COMMERCE)
    answer = {"enrolments": [{"programId": 2}, {"programId": 1}, {"programId": 2}, "junk"]}
    assert enrolment_counts(answer, env) == {"post-purchase": 1, "abandoned cart": 2, "browse": 0}
    assert enrolment_counts({}, env) == {"post-purchase": 0, "abandoned cart": 0, "browse": 0}


def test_the_workers_read_the_demos_cart_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    env = demo_env({}, dotdigital=DOTDIGITAL, commerce=COMMERCE)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.carts.abandon_after == 120.0
    assert settings.carts.tick_interval == 5.0
    assert settings.carts.store_url == STORE_URL
    assert (settings.programs.order_fulfilled, settings.programs.abandoned_cart) == (1, 2)
