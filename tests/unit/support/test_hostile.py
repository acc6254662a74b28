"""The hostile-input catalogue and its accounting: enough cases, every field, honest signatures."""

from __future__ import annotations

import base64
import binascii

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sandbox.commerce.adobe_io.signing import Signer
from schemas.contract.incidents import Reason
from schemas.contract.topics import RAW
from tests.support.accounts import CLIENT_ID
from tests.support.hostile.case import Carried, Case, Fate, Kind
from tests.support.hostile.catalogue import hostile_cases
from tests.support.hostile.envelopes import Envelopes, Signatures, encode, raw
from tests.support.hostile.fields import ENVELOPE_FIELDS, PAYLOAD_FIELDS, WRONG
from tests.support.hostile.ledger import Ledger, Letter, Stored
from tests.support.hostile.maker import ABSENT, Maker, put

SIGNER = Signer()
MARK = "0b7d6c0e-6c35-4a39-9b8e-3b1c2d4e5f60"


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return hostile_cases(Maker(Envelopes(CLIENT_ID), Signatures(SIGNER)))


def test_the_catalogue_holds_over_300_uniquely_named_cases_of_every_class(
    cases: list[Case],
) -> None:
    assert len(cases) >= 300
    assert len({case.name for case in cases}) == len(cases)
    assert {case.kind for case in cases} == set(Kind)


def test_every_envelope_field_gets_every_wrong_type(cases: list[Case]) -> None:
    names = {case.name for case in cases}
    for path in ENVELOPE_FIELDS:
        for label in WRONG:
            assert f"envelope.{'.'.join(map(str, path))}.{label}" in names


def test_every_payload_field_the_normalizer_reads_gets_wrong_types(cases: list[Case]) -> None:
    names = {case.name for case in cases}
    for event_type, fields in PAYLOAD_FIELDS.items():
        short = event_type.rsplit(".", 1)[1].removesuffix("_save_commit_after")
        for path in fields:
            prefix = f"payload.{short}.{'.'.join(map(str, path))}."
            assert any(name.startswith(prefix) for name in names), prefix


def _verifies(case: Case) -> bool:
    headers = case.headers
    path = headers.get("x-adobe-public-key1-path", "")
    pem = SIGNER.public_pem(path)
    if pem is None or "x-adobe-digital-signature-1" not in headers:
        return False
    key = serialization.load_pem_public_key(pem)
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        signature = base64.b64decode(headers["x-adobe-digital-signature-1"], validate=True)
    except binascii.Error:
        return False
    try:
        key.verify(signature, case.body, padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return True


def test_signed_cases_verify_against_the_published_key_and_forged_ones_do_not(
    cases: list[Case],
) -> None:
    for case in cases:
        if case.kind in (Kind.UNSIGNED, Kind.FORGED) and 200 not in case.answers:
            assert not _verifies(case), case.name
        elif case.signed and case.name != "forged.only_signature_2_genuine":
            assert _verifies(case), case.name


def test_raw_tokens_are_written_as_they_are() -> None:
    assert encode({"a": raw("1e5000"), "b": [raw("NaN")]}) == b'{"a":1e5000,"b":[NaN]}'
    assert encode({"a": raw('{"k":"q\\""}')}) == b'{"a":{"k":"q\\""}}'


def test_put_creates_objects_on_the_way_and_removes_absent_fields() -> None:
    document = {"data": None, "id": "x"}
    assert put(document, ("data", "value", "sku"), "..") == {
        "data": {"value": {"sku": ".."}},
        "id": "x",
    }
    assert put(document, ("id",), ABSENT) == {"data": {"value": {"sku": ".."}}}


def _ledger(
    *, stored: int = 0, letters: tuple[Letter, ...] = (), normalized: bool = False
) -> Ledger:
    value = f'{{"eventid":"{MARK}"}}'.encode()
    return Ledger(
        [Stored(f"event:{MARK}", value)] * stored,
        letters,
        [MARK] if normalized else [],
    )


def test_a_stored_event_must_be_on_the_raw_topic_exactly_once() -> None:
    carried = Carried(MARK, Fate.STORED)
    assert _ledger(stored=1).problems(carried) == []
    assert _ledger(stored=0).problems(carried) == ["not on the raw topic"]
    assert _ledger(stored=2).problems(carried) == ["on the raw topic 2 times"]


def test_a_stored_event_the_normalizer_neither_published_nor_dead_lettered_is_lost() -> None:
    carried = Carried(MARK, Fate.STORED, processed=True)
    assert _ledger(stored=1, normalized=True).problems(carried) == []
    later = Letter(Reason.INVALID_PAYLOAD, RAW, MARK.encode())
    assert _ledger(stored=1, letters=(later,)).problems(carried) == []
    assert "lost" in _ledger(stored=1).problems(carried)[0]


def test_a_dead_event_needs_a_webhook_dead_letter_with_an_expected_reason() -> None:
    carried = Carried(MARK, Fate.DEAD, frozenset({Reason.MALFORMED_JSON}), once=True)
    letter = Letter(Reason.MALFORMED_JSON, "webhook", b"[[" + MARK.encode())
    assert _ledger(letters=(letter,)).problems(carried) == []
    assert _ledger(letters=(letter, letter)).problems(carried) == [
        "2 dead letters, expected exactly one"
    ]
    wrong = Letter(Reason.INVALID_ENVELOPE, "webhook", MARK.encode())
    assert "expected ['malformed_json']" in _ledger(letters=(wrong,)).problems(carried)[0]
    assert _ledger(stored=1, letters=(letter,)).problems(carried) != []


def test_a_refused_event_is_nowhere_and_an_accounted_one_somewhere() -> None:
    letter = Letter(Reason.INVALID_ENVELOPE, "webhook", MARK.encode())
    assert _ledger().problems(Carried(MARK, Fate.REFUSED)) == []
    assert _ledger(letters=(letter,)).problems(Carried(MARK, Fate.REFUSED)) != []
    accounted = Carried(MARK, Fate.ACCOUNTED)
    assert _ledger(letters=(letter,)).problems(accounted) == []
    assert _ledger(stored=1).problems(accounted) == []
    assert _ledger().problems(accounted) == [
        "unaccounted: neither on the raw topic nor dead-lettered"
    ]
