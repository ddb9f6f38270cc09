"""Tracking per partition group: keys, what a worker's position is, what the publisher may
publish, a store of another group count refused; the group count setting."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInputError
from infra.config import lease_seconds, partition_groups
from infra.views.tracking import (
    PartitionGroupsMismatchError,
    group_key,
    group_positions,
    parse_key,
    settled,
    summary,
)
from projections.shares import Share, view_home


def test_a_group_key_names_the_worker_the_group_and_the_count() -> None:
    assert group_key("projections", 3, 16) == "projections#3/16"
    assert parse_key("projections#3/16") == ("projections", 3, 16)
    assert parse_key("projections") is None and parse_key("a#b/c") is None


def test_a_worker_is_at_the_least_of_its_groups_and_a_group_not_written_is_at_zero() -> None:
    rows = {group_key("p", 0, 3): 9, group_key("p", 1, 3): 7, "follower": 4}
    assert group_positions(rows, "p", 3) == {0: 9, 1: 7, 2: 0}
    assert summary(rows) == {"follower": 4, "p": 0}
    rows[group_key("p", 2, 3)] = 8
    assert summary(rows)["p"] == 7 and settled(rows) == 7
    assert settled({"follower": 4}) is None  # one writer: every batch is whole


def test_rows_of_another_group_count_are_refused_with_what_to_do() -> None:
    rows = {group_key("p", 0, 4): 9}
    with pytest.raises(PartitionGroupsMismatchError,
                       match=r"PADDOCK_PARTITION_GROUPS=4 .* projections rebuild"):
        group_positions(rows, "p", 16)
    assert group_positions(rows, "q", 16) is None


@pytest.mark.parametrize("text", ["0", "1025", "many", "-3", "2.5"])
def test_a_group_count_out_of_bounds_is_refused(text: str) -> None:
    with pytest.raises(InvalidInputError, match="PADDOCK_PARTITION_GROUPS=.*from 1 to 1024"):
        partition_groups({"PADDOCK_PARTITION_GROUPS": text})


def test_the_group_count_and_lease_period_default() -> None:
    assert partition_groups({}) == 16 and partition_groups({"PADDOCK_PARTITION_GROUPS": "4"}) == 4
    assert lease_seconds({}) == 2.0 and lease_seconds({"PADDOCK_LEASE_SECONDS": "0.5"}) == 0.5
    with pytest.raises(InvalidInputError, match="PADDOCK_LEASE_SECONDS"):
        lease_seconds({"PADDOCK_LEASE_SECONDS": "soon"})


def test_a_view_belongs_to_the_group_of_its_home_partition() -> None:
    assert view_home("standings/wec") == "championship:wec"
    assert view_home("invitations/lemans") == view_home("entry-list/lemans") == "event:lemans"
    share = Share.everything(8)
    assert share.group_of_view("invitations/x") == share.group_of_view("entry-list/x")
    with pytest.raises(ValueError, match="not among"):
        Share(4, frozenset({4}))
