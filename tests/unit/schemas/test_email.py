from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.email import InvalidEmail, normalize_email


def test_trims_and_lower_cases_the_address() -> None:
    assert normalize_email("  Gemma.Guest@Example.COM \n") == "gemma.guest@example.com"


@pytest.mark.parametrize(
    "address",
    [
        "a@b.co",
        "first.last+tag@sub.example.co.uk",
        "o'brien@example.ie",
        "x_y-z@xn--bcher-kva.example",
        "1234@123.example",
    ],
)
def test_accepts_practical_addresses(address: str) -> None:
    assert normalize_email(address) == address


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("   ", "missing"),
        ("no-at-sign.example.com", "malformed"),
        ("two@@example.com", "malformed"),
        ("a@b@example.com", "malformed"),
        ("@example.com", "malformed"),
        ("first last@example.com", "malformed"),
        ("tab\there@example.com", "malformed"),
        ("nul\x00@example.com", "malformed"),
        (".leading@example.com", "malformed"),
        ("trailing.@example.com", "malformed"),
        ("double..dot@example.com", "malformed"),
        ("user@localhost", "malformed"),
        ("user@-bad.example.com", "malformed"),
        ("user@bad-.example.com", "malformed"),
        ("user@example..com", "malformed"),
        ("user@example.com.", "malformed"),
        ("user@under_score.com", "malformed"),
        ("user@1.2.3.4", "malformed"),
        ("jürgen@example.de", "malformed"),
        ("a" * 65 + "@example.com", "too long"),
        ("user@" + "a" * 64 + ".com", "too long"),
        ("user@" + ("a" * 60 + ".") * 5 + "com", "too long"),
    ],
)
def test_rejects_unusable_addresses_with_a_reason(raw: str | None, reason: str) -> None:
    with pytest.raises(InvalidEmail) as caught:
        normalize_email(raw)
    assert caught.value.reason == reason
    assert str(caught.value).startswith(reason)


def test_invalid_email_is_a_value_error_that_survives_pickling() -> None:
    with pytest.raises(ValueError, match="exactly one @") as caught:
        normalize_email("nobody")
    original = caught.value
    assert isinstance(original, InvalidEmail)
    copy = pickle.loads(pickle.dumps(original))
    assert isinstance(copy, InvalidEmail)
    assert (copy.reason, copy.detail) == (original.reason, original.detail)


_padding = st.text(alphabet=" \t\r\n", max_size=3)


@given(address=st.emails(), before=_padding, after=_padding, upper=st.booleans())
def test_normalizing_a_valid_address_is_idempotent(
    address: str, before: str, after: str, upper: bool
) -> None:
    raw = before + (address.upper() if upper else address) + after
    try:
        once = normalize_email(raw)
    except InvalidEmail as error:
        # st.emails() may exceed the practical length limits; nothing else may fail.
        assert error.reason == "too long"
        return
    assert once == address.lower()
    assert normalize_email(once) == once


@given(raw=st.text(max_size=80))
def test_any_text_is_either_rejected_or_normalized_to_a_fixed_point(raw: str) -> None:
    try:
        once = normalize_email(raw)
    except InvalidEmail:
        return
    assert normalize_email(once) == once


@pytest.mark.parametrize(
    "raw",
    [
        "\u212aate@example.com",  # KELVIN SIGN: lower() folds it onto "k", kate@ is someone else
        "\u212bngstrom@example.com",  # ANGSTROM SIGN: folds onto "å"
        "ka\u017fe@example.com",  # LATIN SMALL LETTER LONG S: upper()/casefold() make it "s"
        "\u0130van@example.com",  # LATIN CAPITAL LETTER I WITH DOT ABOVE: lower() gives "i̇"
        "\uff4bate@example.com",  # FULLWIDTH LATIN SMALL LETTER K
        "kate@\uff45xample.com",  # FULLWIDTH e in the domain
        "ka\u200dte@example.com",  # ZERO WIDTH JOINER
        "kate\u200b@example.com",  # ZERO WIDTH SPACE
        "\u202ekate@example.com",  # RIGHT-TO-LEFT OVERRIDE
        "kate@example.com\u2060",  # WORD JOINER at the end, which strip() keeps
        "\u00a0kate@example.com",  # NO-BREAK SPACE: no ASCII whitespace to trim
        "\u043aate@example.com",  # CYRILLIC SMALL LETTER KA
        "kate@ex\u0430mple.com",  # CYRILLIC SMALL LETTER A in the domain
        "kate@example.co\u1d0d",  # LATIN LETTER SMALL CAPITAL M
    ],
)
def test_a_unicode_lookalike_is_refused_before_any_folding(raw: str) -> None:
    with pytest.raises(InvalidEmail) as caught:
        normalize_email(raw)

    assert caught.value.reason == "malformed"
    assert caught.value.detail == "contains characters outside ASCII"


def test_the_kelvin_sign_never_lands_on_the_ascii_address() -> None:
    assert normalize_email(" Kate@Example.com ") == "kate@example.com"
    with pytest.raises(InvalidEmail):
        normalize_email("\u212aate@example.com")
