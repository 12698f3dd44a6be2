"""Unit tests of the /etc/subuid parser and range arithmetic."""

from __future__ import annotations

import pytest

from rootlesskube.host.subids import SubidEntry, entries_for, free_range, overlaps, parse


def test_parse_reads_entries_and_skips_blank_lines_and_comments():
    entries, problems = parse("# comment\n\nalice:100000:65536\n1001:165536:65536\n", "/etc/subuid")
    assert entries == [SubidEntry("alice", 100000, 65536, 3), SubidEntry("1001", 165536, 65536, 4)]
    assert problems == []


def test_parse_names_file_and_line_of_each_garbage_line():
    text = "alice:100000:65536\ngarbage\nbob:abc:65536\ncarol:200000:0\n:1:2\ndave:1:2:3\n"
    entries, problems = parse(text, "/etc/subgid")
    assert entries == [SubidEntry("alice", 100000, 65536, 1)]
    assert problems == [
        "/etc/subgid line 2: 'garbage' is not OWNER:START:COUNT",
        "/etc/subgid line 3: 'bob:abc:65536' has a START or COUNT that is not a number",
        "/etc/subgid line 4: 'carol:200000:0' has a COUNT of 0",
        "/etc/subgid line 5: ':1:2' is not OWNER:START:COUNT",
        "/etc/subgid line 6: 'dave:1:2:3' is not OWNER:START:COUNT",
    ]


def test_entries_for_matches_by_name_or_uid():
    entries, _ = parse("alice:100000:65536\nbob:165536:65536\n1000:231072:65536\n", "/etc/subuid")
    assert [e.line_no for e in entries_for(entries, "alice", 1000)] == [1, 3]
    assert entries_for(entries, "carol", 1002) == []


def test_overlaps_lists_each_intersecting_pair_once_in_file_order():
    entries, _ = parse("a:100000:65536\nb:300000:10\nc:165535:2\nd:165536:65536\n", "/etc/subuid")
    pairs = overlaps(entries)
    assert [(x.owner, y.owner) for x, y in pairs] == [("a", "c"), ("c", "d")]


def test_adjacent_ranges_do_not_overlap():
    entries, _ = parse("a:100000:65536\nb:165536:65536\n", "/etc/subuid")
    assert overlaps(entries) == []


def test_free_range_on_empty_file_starts_at_the_floor():
    assert free_range([], 65536) == 100000


def test_free_range_skips_taken_ranges_and_fits_gaps():
    entries, _ = parse("a:100000:65536\nb:165536:65536\nc:400000:65536\n", "/etc/subuid")
    assert free_range(entries, 65536) == 231072
    assert free_range(entries, 200000) == 465536


def test_free_range_never_starts_below_real_uids():
    assert free_range([], 10, uid_ceiling=200000, start_floor=1000) == 200000
    assert free_range([], 10, uid_ceiling=0, start_floor=1000) == 1000


def test_free_range_with_a_range_that_contains_a_later_one():
    entries, _ = parse("big:90000:200000\nsmall:150000:10\n", "/etc/subuid")
    assert free_range(entries, 65536) == 290000


def test_free_range_rejects_a_non_positive_count():
    with pytest.raises(ValueError):
        free_range([], 0)


def test_free_range_steps_over_real_ids_above_the_ceiling():
    assert free_range([], 65536, real_ids=[1000, 120000]) == 120001
    entries, _ = parse("a:100000:65536\n", "/etc/subuid")
    assert free_range(entries, 65536, real_ids=[200000]) == 200001
    assert free_range(entries, 10, real_ids=[165536, 165540]) == 165541
