"""Settings an operator gets wrong are refused at start, saying what is wrong."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from streams.settings import DotdigitalSettings, Settings, TablesSettings


def refusal(data_fields: dict[str, str]) -> str:
    with pytest.raises(ValidationError) as caught:
        DotdigitalSettings(data_fields=data_fields)
    return str(caught.value)


def test_renamed_data_fields_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CARTWRIGHT_DOTDIGITAL__DATA_FIELDS", '{"FIRSTNAME": "FIRST_NAME", "LASTNAME": "SURNAME"}'
    )

    assert Settings().dotdigital.data_fields == {"FIRSTNAME": "FIRST_NAME", "LASTNAME": "SURNAME"}


def test_by_default_every_data_field_keeps_its_name() -> None:
    assert DotdigitalSettings().data_fields == {}


def test_a_field_cartwright_does_not_keep_is_refused_naming_those_it_does() -> None:
    message = refusal({"FIRSTNAME": "FIRST_NAME", "FAVOURITE_COLOUR": "COLOUR"})

    assert "unknown data fields ['FAVOURITE_COLOUR']" in message
    assert "LIFETIME_VALUE" in message


@pytest.mark.parametrize("name", ["first_name", "FIRST NAME", "1STNAME", "", "A" * 21, "NAMÉ"])
def test_a_name_dotdigital_would_refuse_is_refused(name: str) -> None:
    message = refusal({"FIRSTNAME": name})

    assert repr(name) in message
    assert "no Dotdigital data field names" in message


def test_two_fields_onto_one_name_are_refused_naming_them() -> None:
    # Each write would overwrite one with the other: the contact would hold the wrong value.
    message = refusal({"FIRSTNAME": "LASTNAME"})

    assert "FIRSTNAME and LASTNAME would both be written as LASTNAME" in message
    assert "FIRSTNAME and LASTNAME" in refusal({"FIRSTNAME": "NAME", "LASTNAME": "NAME"})


def test_fields_may_swap_names() -> None:
    # Odd but consistent (and what a merchant who set their account up that way needs).
    swapped = {"FIRSTNAME": "LASTNAME", "LASTNAME": "FIRSTNAME"}

    assert DotdigitalSettings(data_fields=swapped).data_fields == swapped


def test_the_old_line_attributes_setting_is_refused_pointing_at_the_mapping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CARTWRIGHT_ORDERS__PRODUCT_ATTRIBUTES", "color,material")

    with pytest.raises(ValidationError, match=r"\[orders\] lines"):
        Settings()


def test_the_table_store_and_data_dir_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CARTWRIGHT_TABLES__STORE", "rocksdb")
    monkeypatch.setenv("CARTWRIGHT_TABLES__DATA_DIR", "/var/lib/cartwright")

    tables = Settings().tables

    assert (tables.store, tables.data_dir) == ("rocksdb", "/var/lib/cartwright")


def test_tables_are_kept_in_memory_unless_the_operator_says_otherwise() -> None:
    assert (TablesSettings().store, TablesSettings().data_dir) == ("memory", "cartwright-data")


@pytest.mark.parametrize("store", ["RocksDB", "disk", "redis", ""])
def test_a_store_faust_is_not_given_is_refused_naming_the_two_there_are(store: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TablesSettings(store=store)

    assert "'memory' or 'rocksdb'" in str(caught.value)
