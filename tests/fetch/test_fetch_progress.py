"""fetch's progress with many synsets: the total, and bars for the synsets in flight only."""

from __future__ import annotations

import random

from imagenet_cli.cli.fetch_progress import SHOWN, FetchProgress, InFlight
from imagenet_cli.fetch.item import FetchResult


def wnids(n: int) -> list[str]:
    return [f"n{10000000 + i:08d}" for i in range(n)]


def arrivals(per_wnid: dict[str, int], window: int, seed: int = 0) -> list[str]:
    """Results as a run with ``window`` downloads in flight gets them: started in plan
    order, each ending at some point while the next ones are out."""
    rng = random.Random(seed)
    items = [w for w, n in per_wnid.items() for _ in range(n)]
    out: list[str] = []
    pending: list[str] = []
    for item in items:
        pending.append(item)
        if len(pending) >= window:
            out.append(pending.pop(rng.randrange(len(pending))))
    rng.shuffle(pending)
    return out + pending


def test_fifty_synsets_show_at_most_the_ones_in_flight() -> None:
    per = dict.fromkeys(wnids(50), 10)
    flight = InFlight(per)
    came: dict[str, int] = dict.fromkeys(per, 0)
    most = 0
    for wnid in arrivals(per, window=64):
        flight.add(wnid)
        came[wnid] += 1
        active = [w for w in per if 0 < came[w] < per[w]]
        assert len(flight.shown) <= SHOWN
        assert set(flight.shown) | set(flight.waiting) == set(active)
        assert not set(flight.shown) & set(flight.waiting)
        if len(active) <= SHOWN:
            assert flight.waiting == []
        most = max(most, len(active))
    assert most > SHOWN  # the run had more in flight than it shows
    assert flight.shown == [] and flight.hidden == 0


def test_a_synset_partly_done_before_ends_when_the_run_moves_past_it() -> None:
    a, b, c = wnids(3)
    flight = InFlight({a: 10, b: 5, c: 5})  # a: 8 of its 10 done by an earlier run
    flight.add(a)
    flight.add(a)
    flight.add(b)
    assert flight.shown == [a, b]
    flight.passed(a)  # the yield is at a: nothing before it
    assert flight.shown == [a, b]
    flight.passed(b)  # a's results are all out
    assert flight.shown == [b]
    flight.add(a)  # a late word of a finished synset brings no bar back
    assert flight.shown == [b]


def test_waiting_synsets_take_the_places_of_finished_ones() -> None:
    names = wnids(4)
    flight = InFlight(dict.fromkeys(names, 2), shown=2)
    for w in names:
        flight.add(w)
    assert flight.shown == names[:2] and flight.waiting == names[2:] and flight.hidden == 2
    flight.add(names[0])
    assert flight.shown == [names[1], names[2]] and flight.waiting == [names[3]]


def row(wnid: str, i: int) -> FetchResult:
    return FetchResult(wnid, f"{wnid}_{i}", f"http://h/{wnid}/{i}", "ok")


def test_the_bars_on_a_terminal_are_the_total_and_the_shown() -> None:
    per = dict.fromkeys(wnids(50), 10)
    progress = FetchProgress(per, quiet=False)
    progress.enabled = True  # as on a terminal (rich draws nothing here: not a tty)
    seen: dict[str, int] = dict.fromkeys(per, 0)
    with progress:
        progress.total(0, 500, "0 done before")
        bar = progress._bar
        for wnid in arrivals(per, window=64, seed=1):
            seen[wnid] += 1
            progress.total(1, None, "ok")
            progress.arrived(row(wnid, seen[wnid]))
            names = [t.description for t in bar.tasks]
            assert names[0] == "total" and len(names) <= 1 + SHOWN
            assert names[1:] == progress.flight.shown
            for task in bar.tasks[1:]:
                assert task.completed == seen[task.description] < per[task.description]
        assert [t.description for t in bar.tasks] == ["total"]
        assert bar.tasks[0].completed == 500


def test_one_synset_has_the_total_bar_alone() -> None:
    progress = FetchProgress({"n01440764": 3}, quiet=False)
    progress.enabled = True
    with progress:
        progress.total(0, 3, "0 done before")
        progress.arrived(row("n01440764", 1))
        assert [t.description for t in progress._bar.tasks] == ["total"]
