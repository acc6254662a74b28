"""The catalogue of hostile inputs: every class the issue names, each case named and expected.

The shapes of deliveries live here (signatures, sizes, slowness, depth, width, arrays,
recipients); hostile values in the fields live in `fields`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from schemas.contract.incidents import Reason
from tests.support.hostile import fields
from tests.support.hostile.case import CLOSED, Carried, Case, Fate, Kind, Slow
from tests.support.hostile.envelopes import encode, event_id, raw
from tests.support.hostile.maker import ABSENT, Maker, marker, put

MiB = 1024 * 1024
BODY_CAP = 4 * MiB  # the worker's delivery cap (the contract keeps today's 4 MiB)
DELIVERY_CAP = 500  # events per delivery
EVENT_CAP = 256 * 1024  # Commerce never sends an event near this
PATH = "/webhooks/adobe-commerce"

TOO_LARGE = frozenset({Reason.PAYLOAD_TOO_LARGE})
MALFORMED = frozenset({Reason.MALFORMED_JSON})
DELIVERY_TOO_LARGE = frozenset({Reason.DELIVERY_TOO_LARGE})


def stored(event: dict[str, Any]) -> Carried:
    return Carried(event_id(event), Fate.STORED)


def refused(event: dict[str, Any]) -> Carried:
    return Carried(event_id(event), Fate.REFUSED)


def good(maker: Maker) -> Iterator[Case]:
    """Good deliveries of every type among the hostile ones: each must be stored."""
    env = maker.envelopes
    for name in ("order", "shipment", "creditmemo", "customer", "subscriber"):
        event = getattr(env, name)()
        yield maker.one(f"good.{name}", Kind.GOOD, event)
    first, second = env.order(), env.customer()
    yield maker.signed(
        "good.array_of_two", Kind.GOOD, encode([first, second]), [stored(first), stored(second)]
    )


def signatures(maker: Maker) -> Iterator[Case]:
    """No, partial, forged, tampered and path-walking signature headers: 401, nothing stored."""
    env = maker.envelopes
    sig = maker.signatures

    def body_of(event: dict[str, Any]) -> bytes:
        return encode(event)

    event = env.order()
    yield maker.unsigned("unsigned.no_headers", Kind.UNSIGNED, body_of(event), [refused(event)])
    event = env.order()
    yield maker.unsigned(
        "unsigned.malformed_body", Kind.UNSIGNED, body_of(event)[:-7], [refused(event)]
    )
    event = env.order()
    yield maker.unsigned(
        "unsigned.no_content_type", Kind.UNSIGNED, body_of(event), [refused(event)], headers={}
    )
    for header in (
        "x-adobe-digital-signature-1",
        "x-adobe-public-key1-path",
    ):
        event = env.order()
        body = body_of(event)
        headers = sig.signed(body)
        for name in list(headers):
            if name.startswith("x-adobe-") and name != "x-adobe-event-id" and name != header:
                del headers[name]
        yield maker.unsigned(
            f"unsigned.only_{header.removeprefix('x-adobe-')}",
            Kind.UNSIGNED,
            body,
            [refused(event)],
            headers=headers,
        )
    for name, change in {
        "empty_signatures": {"x-adobe-digital-signature-1": "", "x-adobe-digital-signature-2": ""},
        "garbage_base64": {
            "x-adobe-digital-signature-1": "!!!",
            "x-adobe-digital-signature-2": "?",
        },
        "huge_signature": {"x-adobe-digital-signature-1": "A" * 6000},
        "key_path_climb": {"x-adobe-public-key1-path": "/../../etc/passwd"},
        "key_path_elsewhere": {"x-adobe-public-key1-path": "http://evil.example/key.pem"},
        "key_path_protocol_relative": {"x-adobe-public-key1-path": "//evil.example/key.pem"},
        "key_path_sandbox_admin": {"x-adobe-public-key1-path": "/prod/keys/../../_sandbox/status"},
        "key_path_encoded_dots": {"x-adobe-public-key1-path": "/prod/keys/%2e%2e/%2e%2e/x.pem"},
        "key_path_long": {"x-adobe-public-key1-path": "/prod/keys/" + "a" * 6000 + ".pem"},
    }.items():
        event = env.order()
        body = body_of(event)
        headers = {**sig.forged(body), **change}
        yield maker.unsigned(
            f"forged.{name}",
            Kind.FORGED,
            body,
            [refused(event)],
            answers=frozenset({400, 401, 431}),
            headers=headers,
        )
    event = env.order()
    yield maker.forged("forged.unpublished_keys", Kind.FORGED, body_of(event), [refused(event)])
    event = env.order()
    body = body_of(event)
    tampered = body.replace(b"hostile.", b"hostilE.", 1)
    yield maker.unsigned(
        "forged.tampered_after_signing",
        Kind.FORGED,
        tampered,
        [refused(event)],
        headers=sig.signed(body),
    )
    event, other = env.order(), env.order()
    yield maker.unsigned(
        "forged.signature_of_another_body",
        Kind.FORGED,
        body_of(event),
        [refused(event)],
        headers=sig.signed(body_of(other)),
    )
    event = put(env.order(), ("recipientclientid",), "someone-else")
    yield maker.forged("forged.foreign_recipient", Kind.FORGED, body_of(event), [refused(event)])
    events = [env.unused() for _ in range(DELIVERY_CAP + 1)]
    yield maker.forged("forged.too_many_events", Kind.FORGED, encode(events), [refused(events[0])])
    # One genuine signature of the two is enough: Adobe rotates keys one at a time.
    for keep in ("1", "2"):
        event = env.order()
        body = body_of(event)
        headers = sig.signed(body)
        forged = sig.forged(body)
        swapped = f"x-adobe-digital-signature-{'2' if keep == '1' else '1'}"
        headers[swapped] = forged[swapped]
        yield Case(
            f"forged.only_signature_{keep}_genuine",
            Kind.FORGED,
            body,
            headers,
            True,
            frozenset({200}),
            (stored(event),),
        )


def _padded(maker: Maker, size: int) -> tuple[dict[str, Any], bytes]:
    """An order whose body is `size` bytes, padded in a field nobody reads."""
    event = maker.envelopes.order()
    bare = len(encode(put(event, ("data", "value", "padding"), "")))
    put(event, ("data", "value", "padding"), "p" * (size - bare))
    body = encode(event)
    assert len(body) == size, (len(body), size)
    return event, body


def oversized(maker: Maker) -> Iterator[Case]:
    """Bodies over the delivery cap (413, nothing stored) and events over the event cap."""
    too_large = frozenset({413})
    for name, size in (("cap_plus_one", BODY_CAP + 1), ("5_mib", 5 * MiB), ("20_mib", 20 * MiB)):
        event, body = _padded(maker, size)
        carried = Carried(event_id(event), Fate.NOT_STORED)
        yield maker.signed(f"oversized.{name}", Kind.OVERSIZED, body, [carried], too_large)
    event, body = _padded(maker, 5 * MiB)
    yield maker.unsigned(
        "oversized.unsigned_5_mib",
        Kind.OVERSIZED,
        body,
        [refused(event)],
        answers=frozenset({401, 413}),
    )
    event, body = _padded(maker, 5 * MiB)
    forged_headers = maker.signatures.forged(body)
    yield maker.unsigned(
        "oversized.forged_5_mib",
        Kind.OVERSIZED,
        body,
        [refused(event)],
        answers=frozenset({401, 413}),
        headers=forged_headers,
    )
    event, body = _padded(maker, 600 * 1024)
    carried = Carried(event_id(event), Fate.DEAD, TOO_LARGE)
    yield maker.signed("oversized.event_600_kib", Kind.OVERSIZED, body, [carried])
    events = [_padded(maker, 300 * 1024)[0] for _ in range(4)]
    yield maker.signed(
        "oversized.four_events_of_300_kib",
        Kind.OVERSIZED,
        encode(events),
        [Carried(event_id(e), Fate.DEAD, TOO_LARGE) for e in events],
    )


def _head(maker: Maker, body: bytes, *, signed: bool = True) -> dict[str, str]:
    return maker.signatures.signed(body) if signed else maker.signatures.unsigned()


def slow(maker: Maker) -> Iterator[Case]:
    """Heads and bodies that never finish, trickle, or stream past the cap: answered in time."""
    env = maker.envelopes
    timed_out = frozenset({408})
    head_timeout = frozenset({408, 400, CLOSED})
    yield Case(
        "slow.head_never_finished", Kind.SLOW, b"", {}, False, head_timeout,
        slow=Slow(None, finish_head=False),
    )  # fmt: skip
    yield Case(
        "slow.head_trickled", Kind.SLOW, b"", {}, False, head_timeout,
        slow=Slow(None, trickle=b"X-Trickle: " + b"a" * 40, every=0.5, finish_head=False),
    )  # fmt: skip
    for name, part in (("nothing", 0.0), ("half", 0.5), ("all_but_one_byte", None)):
        event = env.order()
        body = encode(event)
        sent = body[:-1] if part is None else body[: int(len(body) * part)]
        yield maker.signed(
            f"slow.body_{name}_sent",
            Kind.SLOW,
            body,
            [Carried(event_id(event), Fate.NOT_STORED)],
            timed_out,
            Slow(len(body), sent=sent),
        )
    event = env.order()
    body = encode(event)
    yield maker.signed(
        "slow.body_trickled_past_the_timeout",
        Kind.SLOW,
        body,
        [Carried(event_id(event), Fate.NOT_STORED)],
        timed_out,
        Slow(len(body), sent=body[:100], trickle=body[100:], piece=1, every=0.25),
    )
    event = env.order()
    body = encode(event)
    quarter = len(body) // 4 + 1
    yield maker.signed(
        "slow.body_slow_but_complete",
        Kind.SLOW,
        body,
        [stored(event)],
        frozenset({200}),
        Slow(len(body), sent=body[:quarter], trickle=body[quarter:], piece=quarter, every=0.3),
    )
    event = env.order()
    body = encode(event)
    yield maker.unsigned(
        "slow.unsigned_body_never_sent",
        Kind.SLOW,
        body,
        [refused(event)],
        slow=Slow(len(body)),
    )
    event = env.order()
    yield maker.unsigned(
        "slow.unsigned_declares_64_mib",
        Kind.SLOW,
        encode(event),
        [refused(event)],
        answers=frozenset({401, 413}),
        slow=Slow(64 * MiB),
    )
    event = env.order()
    body = encode(event)
    yield maker.signed(
        "slow.signed_declares_64_mib",
        Kind.SLOW,
        body,
        [Carried(event_id(event), Fate.NOT_STORED)],
        frozenset({413}),
        Slow(64 * MiB),
    )
    event = env.order()
    body = encode(event)
    yield maker.signed(
        "slow.signed_chunked_past_the_cap",
        Kind.SLOW,
        body,
        [Carried(event_id(event), Fate.NOT_STORED)],
        frozenset({413}),
        Slow(None, sent=body, stream=64 * MiB),
    )
    event = env.order()
    body = encode(event)
    yield maker.unsigned(
        "slow.unsigned_chunked_past_the_cap",
        Kind.SLOW,
        body,
        [refused(event)],
        answers=frozenset({401, 413}),
        slow=Slow(None, sent=body, stream=64 * MiB),
    )
    event = env.order()
    body = encode(event)
    yield Case(
        "slow.forged_body_half_sent",
        Kind.SLOW,
        body,
        maker.signatures.forged(body),
        False,
        frozenset({401, 408}),
        (refused(event),),
        Slow(len(body), sent=body[: len(body) // 2]),
    )


def _nested(depth: int, inner: str = "0", *, objects: bool = False) -> str:
    if objects:
        return '{"a":' * depth + inner + "}" * depth
    return "[" * depth + inner + "]" * depth


def deep(maker: Maker) -> Iterator[Case]:
    """Nesting past what the parser takes is malformed JSON (dead-lettered, 200), never a 500."""
    env = maker.envelopes
    for name, depth, objects in (
        ("arrays_2000", 2_000, False),
        ("arrays_10k", 10_000, False),
        ("objects_10k", 10_000, True),
        ("arrays_100k", 100_000, False),
    ):
        event = put(env.order(), ("data", "value", "nest"), raw(_nested(depth, objects=objects)))
        carried = Carried(event_id(event), Fate.DEAD, MALFORMED)
        yield maker.signed(f"deep.value_{name}", Kind.DEEP, encode(event), [carried])
    mark = marker()
    carried = Carried(mark, Fate.DEAD, MALFORMED)
    body = _nested(10_000, f'"{mark}"').encode()
    yield maker.signed("deep.body_arrays_10k", Kind.DEEP, body, [carried])
    first = env.order()
    second = put(env.order(), ("data", "value", "nest"), raw(_nested(10_000)))
    yield maker.signed(
        "deep.second_of_two_events_10k",
        Kind.DEEP,
        encode([first, second]),
        [Carried(event_id(first), Fate.DEAD, MALFORMED), Carried(event_id(second), Fate.DEAD)],
    )
    event = put(env.order(), ("data", "value", "nest"), raw(_nested(500)))
    yield maker.signed("deep.value_arrays_500", Kind.DEEP, encode(event), [stored(event)])
    event = put(env.order(), ("data", "_metadata", "nest"), raw(_nested(900, objects=True)))
    yield maker.signed("deep.metadata_objects_900", Kind.DEEP, encode(event), [stored(event)])
    event = put(env.order(), ("data", "value", "nest"), raw(_nested(10_000)))
    yield maker.unsigned("deep.unsigned_10k", Kind.DEEP, encode(event), [refused(event)])


def _wide(keys: int) -> dict[str, int]:
    return {f"k{n:05x}": 0 for n in range(keys)}


def wide(maker: Maker) -> Iterator[Case]:
    """100k keys within the body cap (an event over the event cap), and wide but small ones."""
    env = maker.envelopes
    event = env.order()
    event["data"]["value"].update(_wide(100_000))
    carried = Carried(event_id(event), Fate.DEAD, TOO_LARGE)
    yield maker.signed("wide.value_100k_keys", Kind.WIDE, encode(event), [carried])
    event = env.order()
    event.update(_wide(100_000))
    carried = Carried(event_id(event), Fate.DEAD, TOO_LARGE)
    yield maker.signed("wide.envelope_100k_keys", Kind.WIDE, encode(event), [carried])
    event = env.order()
    event["data"]["value"].update(_wide(15_000))
    yield maker.signed("wide.value_15k_keys", Kind.WIDE, encode(event), [stored(event)])
    event = env.order()
    event["data"]["_metadata"].update(_wide(15_000))
    yield maker.signed("wide.metadata_15k_keys", Kind.WIDE, encode(event), [stored(event)])
    event = put(env.order(), ("data", "value", "items"), [{}] * 15_000)
    yield maker.signed("wide.items_15k_empty_rows", Kind.WIDE, encode(event), [stored(event)])
    event = env.order()
    event.update(_wide(100_000))
    yield maker.unsigned("wide.unsigned_100k_keys", Kind.WIDE, encode(event), [refused(event)])


def arrays(maker: Maker) -> Iterator[Case]:
    """Deliveries over the per-delivery cap (413, one dead letter), at the cap, and odd items."""
    env = maker.envelopes
    too_large = frozenset({413})

    def refused_delivery(events: list[dict[str, Any]]) -> list[Carried]:
        head = Carried(event_id(events[0]), Fate.DEAD, DELIVERY_TOO_LARGE, once=True)
        return [head, *(Carried(event_id(e), Fate.NOT_STORED) for e in events[1:])]

    events = [env.unused() for _ in range(DELIVERY_CAP + 1)]
    yield maker.signed(
        "array.cap_plus_one_events", Kind.HUGE_ARRAY, encode(events), refused_delivery(events),
        too_large,
    )  # fmt: skip
    first = env.order()
    body = encode([first, raw(",".join(["1"] * 100_000))])
    yield maker.signed(
        "array.100k_numbers", Kind.HUGE_ARRAY, body, refused_delivery([first]), too_large
    )
    first = env.order()
    body = encode([first, raw(",".join(["0"] * 1_000_000))])
    yield maker.signed(
        "array.1m_zeros", Kind.HUGE_ARRAY, body, refused_delivery([first]), too_large
    )
    first = env.order()
    body = encode([first, raw(",".join(["{}"] * 100_000))])
    yield maker.signed(
        "array.100k_empty_objects", Kind.HUGE_ARRAY, body, refused_delivery([first]), too_large
    )
    events = [env.unused() for _ in range(DELIVERY_CAP)]
    yield maker.signed(
        "array.at_the_cap", Kind.HUGE_ARRAY, encode(events), [stored(e) for e in events]
    )
    yield maker.signed("array.empty", Kind.HUGE_ARRAY, b"[]", [])
    event = env.order()
    yield maker.signed(
        "array.same_event_twice", Kind.HUGE_ARRAY, encode([event, event]), [stored(event)]
    )
    event, mark = env.order(), marker()
    odd: list[Any] = [event, 42, None, "x", [], {}, {"data": {"key": mark}}]
    yield maker.signed(
        "array.odd_items",
        Kind.HUGE_ARRAY,
        encode(odd),
        [stored(event), Carried(mark, Fate.DEAD)],
    )
    event = env.order()
    yield maker.signed(
        "array.nested_in_an_array",
        Kind.HUGE_ARRAY,
        encode([[event]]),
        [Carried(event_id(event), Fate.DEAD)],
    )
    first = env.order()
    body = encode([first, raw(",".join(["0"] * 1_000_000))])
    yield maker.unsigned("array.unsigned_1m_zeros", Kind.HUGE_ARRAY, body, [refused(first)])


def recipients(maker: Maker) -> Iterator[Case]:
    """A delivery is ours only if every event names this client id; otherwise 403, nothing stored."""
    env = maker.envelopes
    ours = maker.client_id
    forbidden = frozenset({403})
    for name, camel, snake in (
        ("none", ABSENT, ABSENT),
        ("foreign", "other-integration", ABSENT),
        ("upper_case", ours.upper(), ABSENT),
        ("nul_suffix", ours + "\x00", ABSENT),
        ("confusable", ours.replace("a", "\u0430"), ABSENT),
        ("prefix", ours + "-evil", ABSENT),
        ("empty", "", ABSENT),
        ("null", None, ABSENT),
        ("snake_foreign", ABSENT, "other-integration"),
        ("ours_and_snake_foreign", ours, "other-integration"),
        ("foreign_and_snake_ours", "other-integration", ours),
    ):
        event = put(
            put(env.order(), ("recipientclientid",), camel), ("recipient_client_id",), snake
        )
        yield maker.one(f"recipient.{name}", Kind.RECIPIENT, event, Fate.REFUSED, answers=forbidden)
    event = put(put(env.order(), ("recipientclientid",), ABSENT), ("recipient_client_id",), ours)
    yield maker.one("recipient.snake_ours", Kind.RECIPIENT, event)
    for name, value in (
        ("int", 424242),
        ("list", []),
        ("object", {}),
        ("true", True),
        ("list_of_ours", [ours]),
        ("object_of_ours", {"id": ours}),
    ):
        event = put(env.order(), ("recipientclientid",), value)
        yield maker.one(
            f"recipient.type.{name}",
            Kind.RECIPIENT,
            event,
            Fate.NOT_STORED,
            answers=frozenset({200, 403}),
        )
    for name, odd in (
        ("foreign", "other-integration"),
        ("missing", ABSENT),
    ):
        first = env.order()
        second = put(env.order(), ("recipientclientid",), odd)
        yield maker.signed(
            f"recipient.array_with_one_{name}",
            Kind.RECIPIENT,
            encode([first, second]),
            [refused(first), refused(second)],
            forbidden,
        )


def hostile_cases(maker: Maker) -> list[Case]:
    """Every case, in the order they are sent."""
    makers = (
        good,
        signatures,
        oversized,
        slow,
        deep,
        wide,
        arrays,
        recipients,
        fields.envelope_types,
        fields.payload_types,
        fields.numbers,
        fields.emails,
        fields.paths,
    )
    return [case for make in makers for case in make(maker)]
