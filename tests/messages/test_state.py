from __future__ import annotations

import pytest

from rcsgate.messages.state import FINAL, RANK, advances, predecessors


class TestAdvances:
    @pytest.mark.parametrize(
        ("current", "new"),
        [
            ("Queued", "Sent"),
            ("Scheduled", "Sent"),
            ("Sent", "Delivered"),
            ("Queued", "Delivered"),  # a receipt that beat the submit's answer
            ("Delivered", "Read"),
            ("Sent", "Expired"),
            ("Sent", "Revoked"),
            ("Queued", "Failed"),
            ("Scheduled", "Cancelled"),
            ("Queued", "Cancelled"),
            ("Delivered", "RevokeFailed"),
        ],
    )
    def test_forward_steps_move_the_status(self, current: str, new: str) -> None:
        assert advances(current, new)

    @pytest.mark.parametrize(
        ("current", "new"),
        [
            ("Sent", "Queued"),
            ("Read", "Delivered"),  # a late receipt stays in the journey only
            ("Delivered", "Sent"),
            ("Delivered", "Expired"),
            ("Delivered", "Failed"),
            ("Sent", "Cancelled"),
            ("Sent", "RevokeFailed"),
            ("Revoked", "Delivered"),
            ("Cancelled", "Sent"),
        ],
    )
    def test_backward_or_impossible_steps_do_not(self, current: str, new: str) -> None:
        assert not advances(current, new)

    @pytest.mark.parametrize("current", sorted(FINAL))
    def test_nothing_leaves_a_final_status_but_a_fallback(self, current: str) -> None:
        assert not any(advances(current, new) for new in RANK | dict.fromkeys(FINAL))

    def test_a_fallback_attempt_follows_an_ended_rcs_attempt(self) -> None:
        assert advances("Expired", "Sent", new_attempt=True)
        assert advances("Revoked", "Sent", new_attempt=True)
        assert not advances("Read", "Sent", new_attempt=True)
        assert not advances("Cancelled", "Sent", new_attempt=True)

    def test_predecessors_list_every_status_a_step_can_follow(self) -> None:
        assert predecessors("Delivered") == ("Queued", "Scheduled", "Sent")
        assert predecessors("Cancelled") == ("Queued", "Scheduled")
