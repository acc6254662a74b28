"""The merchant's catalogue mapping (`CARTWRIGHT_CATALOGUE__MAPPING`, a TOML file): which Commerce
attributes go to which catalogue fields, and which of them also go onto Orders lines.

    # Commerce attribute code = the field under `attributes` in the catalogue record
    [fields]
    brand = "brand"
    color = "colour"
    material = "material"

    # Of those, the ones Orders lines carry too (as `product_attributes`)
    [orders]
    lines = ["brand", "color"]
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# Commerce's rule for attribute codes: a letter first, then lower-case letters, digits or
# underscores, at most 60 characters.
ATTRIBUTE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
# A Dotdigital JSON key (`[A-Za-z0-9_-]`), kept to a length a segment editor shows whole.
FIELD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class MappingRefused(ValueError):
    """The mapping cannot be used; `problems` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class OrdersMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lines: tuple[str, ...] = ()


class CatalogueMapping(BaseModel):
    """Commerce attribute code → catalogue field name, and the codes Orders lines carry too."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[str, str] = Field(default_factory=dict)
    orders: OrdersMapping = OrdersMapping()

    @model_validator(mode="after")
    def _usable(self) -> CatalogueMapping:
        problems = [
            f"`{code}` is not a Commerce attribute code (a letter, then a-z, 0-9 or _)"
            for code in self.fields
            if not ATTRIBUTE_CODE.match(code)
        ]
        problems += [
            f"`{name}` (for `{code}`) is not a name Dotdigital takes: A-Z, a-z, 0-9, _ and - only"
            for code, name in self.fields.items()
            if not FIELD_NAME.match(name)
        ]
        named: dict[str, list[str]] = {}
        for code, name in self.fields.items():
            named.setdefault(name.lower(), []).append(code)
        problems += [
            f"{' and '.join(f'`{code}`' for code in codes)} would both be written as `{name}`"
            for name, codes in named.items()
            if len(codes) > 1
        ]
        problems += [
            f"orders.lines names `{code}`, which [fields] does not map"
            for code in self.orders.lines
            if code not in self.fields
        ]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @classmethod
    def from_toml(cls, text: str) -> CatalogueMapping:
        """The mapping a merchant wrote; `MappingRefused` names every problem at once."""
        try:
            return cls.model_validate(tomllib.loads(text))
        except tomllib.TOMLDecodeError as exc:
            raise MappingRefused([f"not TOML: {exc}"]) from exc
        except ValidationError as exc:
            raise MappingRefused(
                [
                    line
                    for error in exc.errors()
                    for line in str(error["msg"]).removeprefix("Value error, ").splitlines()
                ]
            ) from exc

    def unknown(self, known: Iterable[str]) -> list[str]:
        """The mapped codes the store does not have (a start-up error, with the store's list)."""
        have = set(known)
        return sorted(code for code in self.fields if code not in have)

    @property
    def line_codes(self) -> tuple[str, ...]:
        """The attribute codes Orders lines carry."""
        return self.orders.lines
