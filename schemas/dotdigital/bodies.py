"""Dotdigital request and response bodies, with the API's wire names as aliases."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Wire(BaseModel):
    """Base for Dotdigital bodies: wire names come from aliases, unknown fields are kept."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    def wire(self) -> dict[str, Any]:
        """The JSON-ready body, by alias, without unset optional fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def compact(fields: dict[str, Any]) -> dict[str, Any]:
    """A document's fields without the unknown (None) ones, which Dotdigital bodies leave out."""
    return {name: value for name, value in fields.items() if value is not None}


class MergeOption(StrEnum):
    """How a contact upsert treats fields the contact already has."""

    OVERWRITE = "overwrite"
    OVERWRITE_IF_NOT_EMPTY = "overwrite-if-not-empty"
    OVERWRITE_IF_EMPTY = "overwrite-if-empty"


class EmailChannel(BaseModel):
    """`channelProperties.email` in a contact request."""

    model_config = ConfigDict(populate_by_name=True)

    status: str | None = None
    email_type: str | None = Field(default=None, alias="emailType")
    opt_in_type: str | None = Field(default=None, alias="optInType")


class ContactUpsert(Wire):
    """`PATCH /contacts/v3/email/{email}`: create or update one contact by email."""

    email: str = Field(exclude=True)
    previous_email: str | None = Field(
        default=None, exclude=True, description="find the contact by this address and rename it"
    )
    data_fields: dict[str, Any] = Field(default_factory=dict, alias="dataFields")
    email_channel: EmailChannel | None = Field(default=None, exclude=True)
    lists: list[int] | None = None

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "matchIdentifier": "email",
            "identifiers": {"email": self.email},
            "dataFields": self.data_fields,
        }
        if self.email_channel is not None:
            body["channelProperties"] = {
                "email": self.email_channel.model_dump(by_alias=True, exclude_none=True)
            }
        if self.lists is not None:
            body["lists"] = self.lists
        return body


class Contact(Wire):
    """A contact as Dotdigital returns it (v3)."""

    contact_id: int = Field(alias="contactId")
    status: str | None = None
    identifiers: dict[str, Any] = Field(default_factory=dict)
    data_fields: dict[str, Any] = Field(default_factory=dict, alias="dataFields")
    channel_properties: dict[str, Any] = Field(default_factory=dict, alias="channelProperties")

    @property
    def email(self) -> str | None:
        value = self.identifiers.get("email")
        return value if isinstance(value, str) else None


class CollectionScope(StrEnum):
    CONTACT = "contact"
    ACCOUNT = "account"


class ContactIdentity(BaseModel):
    """Who a contact-scoped insight record belongs to."""

    identifier: str = "email"
    value: str


class InsightRecord(Wire):
    """One record of an insight import: key, owner and JSON document."""

    key: str
    contact_identity: ContactIdentity | None = Field(default=None, alias="contactIdentity")
    json_: dict[str, Any] = Field(alias="json")


class InsightImport(Wire):
    """`PUT /insightData/v3/import`: a batch of records for one collection."""

    collection_name: str = Field(alias="collectionName")
    collection_scope: CollectionScope = Field(alias="collectionScope")
    collection_type: str = Field(alias="collectionType")
    records: list[InsightRecord]


class ImportFailure(Wire):
    """One rejected record of an insight import."""

    key: str | None = None
    failure_reason: str = Field(default="Unknown", alias="failureReason")
    details: list[Any] = Field(default_factory=list)


class InsightImportReport(Wire):
    """`GET /insightData/v3/import/{importId}`."""

    import_id: str = Field(alias="importId")
    status: str
    collection_name: str | None = Field(default=None, alias="collectionName")
    summary: dict[str, Any] = Field(default_factory=dict)
    failures: list[ImportFailure] = Field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status in {"Finished", "Complete"}

    @property
    def failed(self) -> bool:
        return self.status == "Failed"


class ContactImportFailure(Wire):
    """One rejected contact of a bulk contact import, with why."""

    match_identifier: str | None = Field(default=None, alias="matchIdentifier")
    identifiers: dict[str, Any] = Field(default_factory=dict)
    failures: list[dict[str, Any]] = Field(default_factory=list)


class ContactImportReport(Wire):
    """`GET /contacts/v3/import/{importId}`."""

    import_id: str = Field(alias="importId")
    status: str
    summary: dict[str, Any] = Field(default_factory=dict)
    created: list[dict[str, Any]] = Field(default_factory=list)
    updated: list[dict[str, Any]] = Field(default_factory=list)
    failures: list[ContactImportFailure] = Field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status == "Finished"

    @property
    def failed(self) -> bool:
        return self.status in {"Failed", "RejectedByWatchdog", "ExceedsAllowedContactLimit"}
