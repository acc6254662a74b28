"""The consent rules: who wins, what travels to the other side, what never echoes back."""

from __future__ import annotations

from datetime import timedelta

from schemas.contract.consent import ConsentChanged, ConsentSource, ConsentStatus
from schemas.dotdigital.commands import RESUBSCRIBE, UNSUBSCRIBE
from schemas.normalize.consent import (
    ADDED,
    CANNOT_BE_UNSUPPRESSED,
    CHALLENGED,
    from_resubscribe,
)
from schemas.rules.consent import (
    ConsentOutcome,
    ConsentState,
    NoticeKind,
    dotdigital_refusal,
    enrolment_refusal,
    fold_consent,
    resubscribe_refusal,
)
from tests.support.consent import EMAIL, T0, commerce, customer_save, feed


def fold(changes: list[ConsentChanged], *, customer: int | None = None) -> list[ConsentOutcome]:
    state: ConsentState | None = None
    outcomes: list[ConsentOutcome] = []
    for change in changes:
        outcome = fold_consent(state, change, customer_id=customer)
        outcomes.append(outcome)
        state = outcome.state
    return outcomes


def test_commerce_unsubscribe_goes_to_dotdigital_once() -> None:
    first, again = fold([commerce(3), commerce(3, event="c2", at=T0 + timedelta(seconds=1))])
    assert first.to_dotdigital == UNSUBSCRIBE and first.published is not None
    assert first.published.source is ConsentSource.COMMERCE
    assert again.to_dotdigital is None and again.published is None
    # ...and Dotdigital's feed confirming it is not a change and goes nowhere (no echo).
    confirmed = fold_consent(first.state, feed("Unsubscribed", at=T0 + timedelta(seconds=5)))
    assert confirmed.published is None and not confirmed.to_commerce
    assert confirmed.to_dotdigital is None


def test_dotdigital_unsubscribe_writes_back_to_a_registered_customer_once() -> None:
    subscribed = fold_consent(None, commerce(1)).state
    answered = fold_consent(
        subscribed, from_resubscribe(EMAIL, ADDED, request="c1", at=T0 + timedelta(seconds=1))
    )
    assert answered.state is not None and answered.state.status is ConsentStatus.SUBSCRIBED
    out = fold_consent(answered.state, feed("Unsubscribed", at=T0 + timedelta(minutes=5)))
    assert out.to_commerce and out.state is not None and out.state.customer_id == 7
    assert out.published is not None and out.published.source is ConsentSource.DOTDIGITAL
    # Our write-back comes round as Commerce status 3: not a change, nothing goes anywhere.
    back = fold_consent(out.state, commerce(3, event="c9", at=T0 + timedelta(minutes=6)))
    assert back.published is None and back.to_dotdigital is None and not back.to_commerce


def test_guest_subscriber_unsubscribed_in_dotdigital_is_a_notice_naming_the_email() -> None:
    state = fold_consent(None, commerce(1, customer=0)).state
    out = fold_consent(state, feed("Unsubscribed", at=T0 + timedelta(minutes=1)))
    assert not out.to_commerce
    (notice,) = out.notices
    assert notice.kind is NoticeKind.GUEST_UNSUBSCRIBE and EMAIL in notice.message


def test_unknown_to_commerce_needs_no_write_back_and_no_notice() -> None:
    out = fold_consent(None, feed("HardBounced"))
    assert out.state is not None and out.state.status is ConsentStatus.SUPPRESSED
    assert not out.to_commerce and not out.notices


def test_commerce_resubscribe_is_a_request_dotdigital_answers() -> None:
    out = fold([feed("Unsubscribed"), commerce(1, at=T0 + timedelta(minutes=1))])[-1]
    assert out.to_dotdigital == RESUBSCRIBE
    assert out.state is not None
    assert out.state.status is ConsentStatus.PENDING and out.state.requested == "c1"
    assert enrolment_refusal(out.state) is not None  # pending: still no journeys
    challenged = fold_consent(
        out.state, from_resubscribe(EMAIL, CHALLENGED, request="c1", at=T0 + timedelta(minutes=2))
    )
    assert challenged.state is not None and challenged.state.status is ConsentStatus.PENDING


def test_hard_bounced_contact_resubscribing_stays_suppressed_and_says_why() -> None:
    bounced = fold_consent(None, feed("HardBounced")).state
    asked = fold_consent(bounced, commerce(1, at=T0 + timedelta(minutes=1)))
    answer = from_resubscribe(
        EMAIL,
        CANNOT_BE_UNSUPPRESSED,
        request="c1",
        at=T0 + timedelta(minutes=2),
        contact_status="hardBounced",
    )
    out = fold_consent(asked.state, answer)
    assert out.state is not None and out.state.status is ConsentStatus.SUPPRESSED
    (notice,) = out.notices
    assert notice.kind is NoticeKind.RESUBSCRIBE_REFUSED
    assert "hardBounced" in notice.message and "stays suppressed" in notice.message
    assert out.to_commerce  # Commerce is put back in step: not subscribed


def test_an_opt_out_overtakes_a_pending_resubscribe() -> None:
    asked = fold([commerce(1)])[-1].state
    assert resubscribe_refusal(asked, "c1") is None
    overtaken = fold_consent(asked, feed("Unsubscribed", at=T0 + timedelta(seconds=2))).state
    assert resubscribe_refusal(overtaken, "c1") == (
        "re-subscribe skipped: unsubscribed on 2026-11-26 via dotdigital"
    )
    # Dotdigital had already taken the contact back: the opt-out still wins.
    late = fold_consent(
        overtaken, from_resubscribe(EMAIL, ADDED, request="c1", at=T0 + timedelta(seconds=3))
    )
    assert late.to_dotdigital == UNSUBSCRIBE and late.published is None


def test_late_commerce_saves_are_ignored() -> None:
    newer, older = fold([commerce(3, at=T0 + timedelta(minutes=1), event="b"), commerce(1)])
    assert older.to_dotdigital is None and older.state == newer.state


def test_the_gate_words() -> None:
    state = fold_consent(None, feed("Unsubscribed")).state
    assert (
        enrolment_refusal(state) == "enrolment skipped: unsubscribed on 2026-11-26 via dotdigital"
    )
    assert enrolment_refusal(None) is None
    assert dotdigital_refusal("subscribed") is None
    assert dotdigital_refusal("hardBounced") == "enrolment skipped: hardBounced in Dotdigital"


def test_replayed_observation_changes_nothing() -> None:
    first = fold_consent(None, commerce(3))
    again = fold_consent(first.state, commerce(3))
    assert again.state == first.state and again.to_dotdigital is None


def test_a_customer_never_subscribed_and_saved_not_subscribed_opts_out_of_nothing() -> None:
    (out,) = fold([customer_save(False)], customer=7)
    assert out == ConsentOutcome(None)


def test_not_subscribed_on_a_customer_known_only_as_opted_out_sends_nothing_again() -> None:
    bounced = fold_consent(None, feed("HardBounced")).state
    out = fold_consent(bounced, customer_save(False, at=T0 + timedelta(minutes=1)))
    assert out.to_dotdigital is None and out.published is None and not out.to_commerce
    assert out.state is not None and out.state.status is ConsentStatus.SUPPRESSED
    assert out.state.commerce_subscribed is False


def test_a_pending_newsletter_customer_saved_not_subscribed_stays_pending() -> None:
    pending = fold_consent(None, commerce(2)).state
    out = fold_consent(pending, customer_save(False, at=T0 + timedelta(minutes=1)))
    assert out.to_dotdigital is None and out.published is None
    assert out.state is not None and out.state.status is ConsentStatus.PENDING


def test_a_subscribed_customer_saved_not_subscribed_unsubscribes() -> None:
    asked = fold_consent(None, customer_save(True))
    assert asked.to_dotdigital == RESUBSCRIBE
    added = fold_consent(
        asked.state, from_resubscribe(EMAIL, ADDED, request="s1", at=T0 + timedelta(seconds=5))
    )
    assert added.state is not None and added.state.status is ConsentStatus.SUBSCRIBED
    out = fold_consent(added.state, customer_save(False, at=T0 + timedelta(minutes=1), event="s2"))
    assert out.to_dotdigital == UNSUBSCRIBE
    assert out.published is not None and out.published.status is ConsentStatus.UNSUBSCRIBED
    assert out.state is not None and out.state.status is ConsentStatus.UNSUBSCRIBED


def test_a_newsletter_unsubscribe_opts_out_even_a_contact_never_seen_subscribed() -> None:
    (out,) = fold([commerce(3)])
    assert out.to_dotdigital == UNSUBSCRIBE


def test_a_challenged_contact_is_enrolled_only_once_dotdigital_says_they_clicked() -> None:
    asked = fold_consent(None, commerce(1)).state
    assert enrolment_refusal(asked) is not None  # asked, not answered: no journeys
    challenged = fold_consent(
        asked, from_resubscribe(EMAIL, CHALLENGED, request="c1", at=T0 + timedelta(minutes=1))
    ).state
    assert challenged is not None and challenged.status is ConsentStatus.PENDING
    # The click happens in Dotdigital: the table leaves it to Dotdigital's own status.
    assert enrolment_refusal(challenged) is None
    assert dotdigital_refusal("unsubscribed") == "enrolment skipped: unsubscribed in Dotdigital"
    assert dotdigital_refusal("subscribed") is None
    # Awaiting confirmation in Commerce is not Dotdigital's to settle.
    assert enrolment_refusal(fold_consent(None, commerce(2)).state) is not None
