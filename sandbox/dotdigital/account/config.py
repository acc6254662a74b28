"""How a Dotdigital sandbox behaves: credentials, region, rate limits, imports and programs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

RateMode = Literal["tiered", "flat"]
ResetFormat = Literal["seconds", "epoch"]
# The spec's terminal insight-import status is `Complete`; accounts are seen answering `Finished`.
InsightFinishedStatus = Literal["Finished", "Complete"]

# Per-minute budgets. Only Low = 35 on the Basic package is published; the rest are guesses.
DEFAULT_TIER_BUDGETS: dict[str, int | None] = {
    "low": 35,
    "medium": 300,
    "high": 1000,
    "unlimited": None,
}


class SandboxConfig(BaseModel):
    """Everything the sandbox needs, passed in by the caller (never read from the environment)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str = "apiuser-sandbox@apiconnector.com"
    password: str = "sandbox-password"  # noqa: S105 - a fake account's password, not a secret

    # Regional host the account lives on; with the check on, any other Host header gets 403.
    # Off by default because tests and `make run` call 127.0.0.1.
    region_host: str = "r1-api.dotdigital.com"
    check_region_host: bool = False
    # account-info answers on this host for accounts of every region (how clients find theirs).
    discovery_host: str = "r1-api.dotdigital.com"
    # What account-info advertises as ApiEndpoint; None means the server's own base URL, on
    # region_host when the region is checked.
    api_endpoint: str | None = None

    # The account described by account-info.
    account_id: int = 1001
    main_email: str = "owner@sandbox.example"
    api_locale: str = "en-GB"
    currency_code: str = "GBP"
    time_zone_iana: str = "Europe/London"

    # Rate limits.
    rate_mode: RateMode = "tiered"
    tier_budgets: dict[str, int | None] = Field(default_factory=lambda: dict(DEFAULT_TIER_BUDGETS))
    flat_hourly_limit: int = Field(default=2000, ge=1)
    flat_error_status: int = 400  # unconfirmed in the spec ("likely 400")
    reset_format: ResetFormat = "seconds"

    # Imports finish after this many polls answered NotFinished, or after this many seconds
    # when import_seconds_before_finished is set (then polls do not matter).
    import_polls_before_finished: int = Field(default=1, ge=0)
    import_seconds_before_finished: float | None = Field(default=None, ge=0)
    # In poll mode, an import nobody polls any more (its client was killed) finishes after this.
    import_unpolled_finish_after: float = Field(default=10.0, gt=0)
    max_active_contact_imports: int = Field(default=25, ge=1)
    max_active_insight_imports: int = Field(default=5, ge=1)
    insight_finished_status: InsightFinishedStatus = "Finished"

    # Insight data limits. The longest string value is not published: 1000 is our choice.
    max_insight_string_length: int = Field(default=1000, ge=1)
    max_collections: int = Field(default=1000, ge=1)

    # Programs: id -> active. Enrolling into an unknown id is 404, an inactive one 422.
    programs: dict[int, bool] = Field(default_factory=lambda: {1: True})
    max_enrolment_contacts: int = Field(default=25, ge=1)

    # v2 resubscribe of an unsubscribed contact: True (as Dotdigital does) answers
    # ContactChallenged (a confirmation email; the contact stays unsubscribed until they click,
    # which `POST /_sandbox/contacts/{email}/confirm` plays), False answers ContactAdded at once.
    # `/v2/contacts/resubscribe-with-no-challenge` always adds at once.
    resubscribe_challenges: bool = True

    # Seed for fault injection, so a run with the same faults fails the same calls.
    fault_seed: int | None = None

    @model_validator(mode="after")
    def _tiers_known(self) -> SandboxConfig:
        missing = {"low", "medium", "high"} - set(self.tier_budgets)
        if missing:
            raise ValueError(f"tier_budgets lacks {sorted(missing)}")
        return self
