"""The enrolment ledger's rule: done is never sent again, claimed without done is interrupted."""

from __future__ import annotations

from schemas.dotdigital.journals.enrolments import Enrolment, Mark, sort_enrolments


def test_done_is_never_sent_again_and_claimed_is_interrupted() -> None:
    new, done, claimed, released = (Enrolment("a@example.com", 1, f"order {n}") for n in "1234")
    sorting = sort_enrolments(
        {new: None, done: Mark.DONE, claimed: Mark.CLAIMED, released: Mark.RELEASED}
    )
    assert (sorting.send, sorting.done, sorting.interrupted) == ([new, released], [done], [claimed])
