"""Properties of the window of remembered command ids against a plain list of the last n."""

from __future__ import annotations

import pickle

from hypothesis import given
from hypothesis import strategies as st

from core.ledger._window import ReplyWindow

# Each step adds a fresh id, or re-reads the window as a snapshot's rows would give it.
STEPS = st.lists(st.sampled_from(["add", "add", "add", "reread"]), max_size=60)


def _reread(window: ReplyWindow[int], capacity: int) -> ReplyWindow[int]:
    """The window rebuilt over a base of rows, as `decode_snapshot` builds one."""
    ids = list(window)
    values = [window[key] for key in ids]
    return ReplyWindow(capacity, dict(zip(ids, range(len(ids)), strict=True)), values.__getitem__)


@given(capacity=st.integers(min_value=1, max_value=7), steps=STEPS)
def test_window_holds_exactly_the_last_ids(capacity: int, steps: list[str]) -> None:
    """After any adds and re-reads the window is the last `capacity` ids, oldest first."""
    window: ReplyWindow[int] = ReplyWindow(capacity)
    added: list[str] = []
    for number, step in enumerate(steps):
        if step == "reread":
            window = _reread(window, capacity)
        else:
            key = f"c{number}"
            window = window.add(key, number)
            added.append(key)
        model = added[-capacity:]
        assert list(window) == model and len(window) == len(model)
        assert [window[key] for key in model] == [int(key[1:]) for key in model]
        for gone in added[:-capacity]:
            assert gone not in window and window.get(gone) is None
        assert pickle.loads(pickle.dumps(window)) == window


@given(capacity=st.integers(min_value=1, max_value=5), steps=STEPS)
def test_windows_are_persistent(capacity: int, steps: list[str]) -> None:
    """Adding to a window never changes it: every earlier window still reads as it did."""
    window: ReplyWindow[int] = ReplyWindow(capacity)
    history: list[tuple[ReplyWindow[int], list[tuple[str, int]]]] = []
    for number, step in enumerate(steps):
        window = _reread(window, capacity) if step == "reread" else window.add(f"c{number}", number)
        history.append((window, list(window.items())))
    for earlier, items in history:
        assert list(earlier.items()) == items


# Each step adds a fresh id, adds again an id the window has evicted, goes back to an
# earlier window (whose next addition is a branch), or re-reads the window.
BRANCHING_STEPS = st.lists(
    st.one_of(
        st.just(("add", 0)),
        st.tuples(st.just("readd"), st.integers(min_value=0)),
        st.tuples(st.just("back"), st.integers(min_value=0)),
        st.just(("reread", 0)),
    ),
    max_size=60,
)


@given(capacity=st.integers(min_value=1, max_value=5), steps=BRANCHING_STEPS)
def test_branches_and_returning_ids_leave_every_window_as_it_was(
    capacity: int, steps: list[tuple[str, int]]
) -> None:
    """Adding to an older window, or an evicted id again, changes no window; each keeps its ids."""
    window: ReplyWindow[int] = ReplyWindow(capacity)
    model: list[tuple[str, int]] = []
    history: list[tuple[ReplyWindow[int], list[tuple[str, int]]]] = [(window, [])]
    seen: list[str] = []
    for number, (step, pick) in enumerate(steps):
        if step == "back":
            window, model = history[pick % len(history)]
            continue
        if step == "reread":
            window = _reread(window, capacity)
        else:
            evicted = [key for key in seen if key not in dict(model)]
            key = evicted[pick % len(evicted)] if step == "readd" and evicted else f"c{number}"
            window = window.add(key, number)
            model = [*model, (key, number)][-capacity:]
            seen.append(key)
        history.append((window, model))
        assert list(window.items()) == model and len(window) == len(model)
    for earlier, items in history:
        assert list(earlier.items()) == items
        assert all(key in earlier and earlier[key] == value for key, value in items)
        assert not any(key in earlier for key in seen if key not in dict(items))
