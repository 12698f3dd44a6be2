"""Property tests: whatever the existing files hold, a new range overlaps nothing and every byte is kept."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host_setup.apply import apply_plan
from host_setup.plan import Target, subid_actions
from host_setup.subid import UnparsableFile
from rootlesskube.host import subids
from tests.host_setup.trees import tree

names = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8)
entry_line = st.builds(lambda o, s, c: f"{o}:{s}:{c}", names | st.integers(1000, 70000).map(str),
                       st.integers(0, 3_000_000), st.integers(1, 300_000))
comment = st.text(alphabet=string.printable.replace("\n", "").replace("\r", "").replace("\x0b", "").replace("\x0c", ""),
                  max_size=20).map(lambda t: "#" + t)
blank = st.sampled_from(["", "   "])
garbage = st.sampled_from(["garbage", "a:b:c", "x:1", "y:1:0", "::"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(entry_line | comment | blank, max_size=25), user=names,
       uid=st.integers(1000, 60000), count=st.integers(65536, 500_000), final_newline=st.booleans(),
       high_uids=st.lists(st.integers(65536, 3_000_000), max_size=5))
def test_new_range_never_overlaps_and_foreign_lines_are_kept(tmp_path_factory, lines, user, uid, count, final_newline,
                                                             high_uids):
    root = tmp_path_factory.mktemp("host")
    text = "\n".join(lines) + ("\n" if final_newline and lines else "")
    # other users with real uids above 65536 (and same-numbered groups): no range may contain them
    passwd = "".join(f"u{n}:x:{real}:{real}::/home/u{n}:/bin/sh\n" for n, real in enumerate(high_uids))
    view = tree(root, {"/usr/sbin/usermod": None, "/etc/subuid": text, "/etc/subgid": text, "/etc/passwd": passwd})
    apply_plan(subid_actions(view, Target(user, uid), count), view, runner=lambda argv: None)
    for name in ("subuid", "subgid"):
        after = (root / "etc" / name).read_text()
        assert after.startswith(text)  # every existing byte, in place
        entries, problems = subids.parse(after, name)
        assert problems == []
        mine = subids.entries_for(entries, user, uid)
        usable = [e for e in mine if e.count >= count and not any(e in pair for pair in subids.overlaps(entries))
                  and not e.intersects(0, subids.UID_CEILING) and not subids.real_ids_inside(e, high_uids)]
        assert usable, after
        added = after[len(text):]
        if added:
            (new,) = added.strip().splitlines()
            owner, start, size = new.split(":")
            assert owner == user and int(size) == count and int(start) >= 65536
            others = [e for e in entries if e.line_no != len(after.splitlines())]
            assert not any(e.intersects(int(start), int(start) + count) for e in others)
            assert not any(int(start) <= real < int(start) + count for real in high_uids)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.lists(entry_line | comment, max_size=8), bad=garbage, after=st.lists(entry_line, max_size=4))
def test_a_file_with_a_line_that_is_not_an_entry_is_left_untouched(tmp_path_factory, before, bad, after):
    root = tmp_path_factory.mktemp("host")
    text = "\n".join(before + [bad] + after) + "\n"
    view = tree(root, {"/usr/sbin/usermod": None, "/etc/subuid": text, "/etc/subgid": ""})
    with pytest.raises(UnparsableFile, match=f"line {len(before) + 1}:"):
        subid_actions(view, Target("alice", 1000), 65536)
    assert (root / "etc/subuid").read_text() == text
