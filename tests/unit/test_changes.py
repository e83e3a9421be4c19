"""Diffing a snapshot against the live version's documents, and the mass-delete guard."""

import pytest

from indexgate.sources.changes import check_deletions, diff
from indexgate.errors import MassDeleteHeld
from indexgate.models import Snapshot, SourceObject


def _snap(**docs):
    objs = tuple(SourceObject(d, f"file:///{d}", h, 1, "", "text/plain") for d, h in sorted(docs.items()))
    return Snapshot("src", objs, "x")


def test_diff_partitions_documents_by_id_and_hash():
    base = [{"doc_id": "a", "content_hash": "1"}, {"doc_id": "b", "content_hash": "2"},
            {"doc_id": "c", "content_hash": "3"}]
    changes = diff(_snap(a="1", b="22", d="4"), "v1", base)
    assert (changes.added, changes.changed, changes.unchanged, changes.deleted) == (("d",), ("b",), ("a",), ("c",))
    assert changes.counts() == {"base": "v1", "added": 1, "changed": 1, "unchanged": 1, "deleted": 1}


def test_without_a_base_everything_is_added():
    changes = diff(_snap(a="1", b="2"), None, ())
    assert changes.counts() == {"base": None, "added": 2, "changed": 0, "unchanged": 0, "deleted": 0}


def _changes(deleted, live):
    base = [{"doc_id": f"d{i}", "content_hash": "h"} for i in range(live)]
    return diff(_snap(**{f"d{i}": "h" for i in range(deleted, live)}), "v1", base)


def test_deleting_more_than_the_share_is_held_with_the_command_to_confirm():
    with pytest.raises(MassDeleteHeld, match=r"delete 3 of the 5 documents .*\(60%, more than gates.max_delete_share"
                                             r" = 50%\); nothing was built.*confirm with: indexgate sync --allow"):
        check_deletions(_changes(3, 5), 5, 2, 0.5, False, "indexgate sync --allow")
    check_deletions(_changes(3, 5), 5, 2, 0.5, True, "")  # confirmed
    check_deletions(_changes(2, 4), 4, 2, 0.5, False, "")  # exactly the share is allowed
    check_deletions(_changes(0, 0), 0, 0, 0.5, False, "")  # nothing live, nothing to lose


def test_an_empty_source_is_held_even_without_the_live_manifest():
    with pytest.raises(MassDeleteHeld, match="every document \\(the source is empty\\)"):
        check_deletions(diff(_snap(), None, ()), None, 0, 0.5, False, "x")
    check_deletions(diff(_snap(a="1"), None, ()), None, 1, 0.5, False, "x")
