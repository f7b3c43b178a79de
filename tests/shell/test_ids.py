"""Fresh command ids (shell._ids): unique per call, per thread, per process and past the counter."""

from __future__ import annotations

import itertools
import os
import re
import threading

from shell import _ids
from shell._store_sending import new_command_id


def test_ids_are_32_hex_digits_and_never_repeat() -> None:
    """Every id is 32 lowercase hex digits (like uuid4().hex) and no two calls share one."""
    ids = [_ids.fresh_id() for _ in range(10_000)]
    assert all(re.fullmatch("[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert new_command_id() != new_command_id() and new_command_id("mine") == "mine"


def test_ids_drawn_in_many_threads_never_repeat() -> None:
    """Threads drawing ids at once get distinct ids."""
    drawn: list[list[str]] = [[] for _ in range(8)]

    def draw(slot: list[str]) -> None:
        slot.extend(_ids.fresh_id() for _ in range(5_000))

    threads = [threading.Thread(target=draw, args=(slot,)) for slot in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for slot in drawn for i in slot]
    assert len(set(everything)) == len(everything) == 40_000


def test_a_used_up_counter_takes_a_new_prefix() -> None:
    """After 2**32 ids a source draws a new prefix instead of wrapping its counter."""
    source = _ids._Source()
    prefix, _ = source._state
    source._state = (prefix, itertools.count(2**32 - 1))
    last, after = source.next_id(), source.next_id()
    assert last == f"{prefix}ffffffff"
    assert not after.startswith(prefix) and after.endswith("00000000")


def test_a_forked_child_draws_ids_of_its_own() -> None:
    """A child process after fork does not repeat the parent's ids."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report one id and leave at once
        os.write(write, _ids.fresh_id().encode())
        os._exit(0)
    os.close(write)
    child_id = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    parent_id = _ids.fresh_id()
    assert len(child_id) == 32 and child_id[:24] != parent_id[:24]
