"""Row ids: unique, 32 hex digits, and in the order they were made (so inserts append to a key's B-tree)."""

from __future__ import annotations

import time

from citybrain.db import new_id


def test_ids_are_unique_hex_and_ordered_by_when_they_were_made() -> None:
    first = [new_id() for _ in range(5000)]
    time.sleep(0.002)  # the next millisecond at least
    later = [new_id() for _ in range(5000)]
    ids = first + later
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert max(first) < min(later)  # a later id sorts after every earlier one
