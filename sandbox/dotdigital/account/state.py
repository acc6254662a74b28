"""One sandbox account: every store, the limiter and the fault injector, built from a config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.dotdigital.account.config import SandboxConfig
from sandbox.dotdigital.account.faults import FaultInjector, FaultSettings
from sandbox.dotdigital.account.insight import InsightStore
from sandbox.dotdigital.account.jobs import ImportBoard, JobKind, JobStatus
from sandbox.dotdigital.account.programs import ProgramBook
from sandbox.dotdigital.account.ratelimit import RateLimiter
from sandbox.dotdigital.account.store import ContactStore


class Sandbox:
    """The state behind one running sandbox; `reset()` returns it to the as-configured state."""

    contacts: ContactStore
    insight: InsightStore
    imports: ImportBoard
    programs: ProgramBook
    limiter: RateLimiter
    faults: FaultInjector

    def __init__(self, config: SandboxConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        """Forget every contact, record, import and enrolment; limits and faults back to config."""
        config, clock = self.config, self.clock
        self.contacts = ContactStore(clock)
        self.insight = InsightStore(config.max_collections)
        self.imports = ImportBoard(
            clock,
            polls_before_finished=config.import_polls_before_finished,
            seconds_before_finished=config.import_seconds_before_finished,
            unpolled_finish_after=config.import_unpolled_finish_after,
            max_active={
                JobKind.CONTACTS: config.max_active_contact_imports,
                JobKind.INSIGHT: config.max_active_insight_imports,
            },
            finished_status={JobKind.INSIGHT: JobStatus(config.insight_finished_status)},
        )
        self.programs = ProgramBook(
            config.programs, max_contacts=config.max_enrolment_contacts, clock=clock
        )
        self.limiter = RateLimiter(
            clock,
            budgets=config.tier_budgets,
            mode=config.rate_mode,
            reset_format=config.reset_format,
            hourly_limit=config.flat_hourly_limit,
        )
        held = getattr(self, "faults", None)
        if held is not None:
            held.configure(FaultSettings())  # answers held by the old faults go out
        self.faults = FaultInjector(config.fault_seed)

    def import_failure(self) -> JobStatus | None:
        """How imports ending now end under the current faults (None: they succeed)."""
        settings = self.faults.settings
        return JobStatus(settings.contact_import_failure) if settings.fail_imports else None

    def stats(self) -> dict[str, Any]:
        """What `GET /_sandbox/stats` shows."""
        limits = self.limiter.stats
        return {
            "calls": dict(limits.calls),
            "rate_limited": limits.rate_limited,
            "hourly_capped": limits.hourly_capped,
            "faults_injected": self.faults.injected,
            "contacts": len(self.contacts),
            "collections": self.insight.counts(),
            "active_imports": {
                "contacts": self.imports.active(JobKind.CONTACTS),
                "insight": self.imports.active(JobKind.INSIGHT),
            },
            "enrolments": len(self.programs.enrolments),
            "imports": dict(self.imports.submitted),
        }
