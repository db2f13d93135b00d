"""The pure core of benchmarks/typing.py: a person retyping a region with the assistant, on a
clock driven by the engine's measured compute. No model here: a `Source` gives suggestions and
a clock function says how long they took, so tests drive it with scripted ones.

(A module of its own, apart from the script, also because a script named `typing.py` shadows
the standard library's `typing` for whatever it imports.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pairterm.suggestion import Suggestion
from pairterm.suggestion_source import MAX_CONTINUATIONS
from pairterm.words import next_word

_Call = Callable[[Callable[[], bool]], "Suggestion | None"]  # a source call, given `cancelled`


# -- the simulation core: pure, driven by a compute clock ---------------------------------------
class Source(Protocol):
    """What the simulation asks for suggestions: pairterm.suggestion_source.SuggestionSource.
    A result with `cached` came from its cache; one with `prompt_tokens == 0` was answered
    without running the model (say, no η left); neither counts as a model call."""

    def suggest(
        self, before: str, after: str, cancelled: Callable[[], bool] | None = None
    ) -> Suggestion: ...

    def follow_up(
        self, before: str, after: str, shown: Suggestion, cancelled: Callable[[], bool] | None = None
    ) -> Suggestion | None: ...


@dataclass(frozen=True)
class Region:
    """Text to retype (`target`) between the file's text before and after it."""

    before: str
    target: str
    after: str
    name: str = ""


@dataclass
class RegionStats:
    name: str
    chars: int = 0  # keystrokes without help
    keystrokes: int = 0
    shown: int = 0
    accepted: int = 0  # shown suggestions taken in full or in part
    shown_chars: int = 0
    accepted_chars: int = 0
    requests: int = 0  # after keystrokes; the counts down to latencies_ms are of these alone
    cache_hits: int = 0
    cancelled: int = 0
    late: int = 0  # finished, but after the next keystroke: not shown
    waited: int = 0  # found the engine still busy with an earlier call (cancelled or late)
    latencies_ms: list[float] = field(default_factory=list)  # of the model's answers
    follow_ups: int = 0  # prefetches started
    extended: int = 0  # shown suggestions made longer by their follow-up
    compute_s: float = 0.0
    typing_s: float = 0.0  # the virtual clock at the end of the region

    @property
    def saved_share(self) -> float:
        return 1.0 - self.keystrokes / self.chars if self.chars else 0.0


def keystroke_unit(target: str, pos: int) -> str:
    """What one keystroke at `pos` writes when typing unaided: Enter writes the newline and the
    next line's indentation (auto-indent); in a line's indentation (after accepting part of it)
    the rest of it comes with the first visible character; anything else is one character."""
    char = target[pos]
    if char == "\n":
        end = pos + 1
        while end < len(target) and target[end] in " \t":
            end += 1
        return target[pos:end]
    line_start = target.rfind("\n", 0, pos) + 1
    if char in " \t" and not target[line_start:pos].strip(" \t"):
        end = pos
        while end < len(target) and target[end] in " \t":
            end += 1
        return target[pos : end + 1]
    return char


def unaided_keystrokes(target: str) -> int:
    """Keystrokes to type `target` without help: the denominator of `saved_share`."""
    pos = count = 0
    while pos < len(target):
        pos += len(keystroke_unit(target, pos))
        count += 1
    return count


def simulate_region(
    source: Source,
    region: Region,
    clock: Callable[[], float],
    *,
    cps: float,
    line_pause: float,
    debounce_s: float,
    on_call: Callable[[str, Suggestion], None] | None = None,
) -> RegionStats:
    """Retype `region.target` against a virtual clock; `clock` measures compute in seconds.

    `on_call(before, result)` runs after each completed model call (not a cache hit, not
    cancelled), outside the compute measured, so a baseline can run there."""
    stats = RegionStats(region.name, chars=unaided_keystrokes(region.target))
    target = region.target
    pos = 0
    ghost = ""
    ghost_index = -1  # which shown suggestion the ghost belongs to
    accepted_ids: set[int] = set()
    now = 0.0  # the virtual time of the last keystroke
    busy_until = 0.0  # when the engine is done with the calls made so far

    def timed(call: _Call, left: float) -> tuple[Suggestion | None, float]:
        start = clock()
        result = call(lambda: clock() - start > left)
        spent = clock() - start
        stats.compute_s += spent
        return result, spent

    def record(result: Suggestion, before: str, in_time: bool, prefetch: bool) -> None:
        """Counts are of requests (what the person waits for); the baseline covers prefetches
        too, as model work."""
        ran_model = not result.cached and result.prompt_tokens > 0  # 0: answered without it
        if result.stop_reason == "cancelled":
            stats.cancelled += not prefetch
        elif ran_model:
            if not prefetch:
                stats.latencies_ms.append(result.latency_ms)
                stats.late += not in_time
            if on_call is not None:
                on_call(before, result)
        elif result.cached:
            stats.cache_hits += not prefetch

    def request(gap: float) -> None:
        """The editor's request after a keystroke `gap` seconds before the next one: it runs
        once the debounce is over and the engine is done with earlier calls (a call runs on
        until its next check of `cancelled`), and is cancelled at the next keystroke."""
        nonlocal busy_until
        due, next_key = now + debounce_s, now + gap
        if due >= next_key:  # the next keystroke restarts the debounce timer first
            return
        stats.requests += 1
        start = max(due, busy_until)
        stats.waited += start > due
        if start >= next_key:  # it gets the engine only once it is cancelled
            stats.cancelled += 1
            return
        busy_until = start + serve(region.before + target[:pos], next_key - start)

    def serve(before: str, budget: float) -> float:
        """The suggestion, then the prefetch, in `budget` seconds; returns the compute used."""
        nonlocal ghost, ghost_index
        result, used = timed(lambda c: source.suggest(before, region.after, c), budget)
        assert result is not None
        in_time = used <= budget
        record(result, before, in_time, prefetch=False)
        if not (in_time and result.text and result.stop_reason != "cancelled"):
            return used
        shown = result
        ghost, ghost_index = shown.text, stats.shown
        stats.shown += 1
        stats.shown_chars += len(shown.text)
        for _ in range(MAX_CONTINUATIONS):
            if budget - used <= 0:
                break
            more, spent = timed(
                lambda c, s=shown: source.follow_up(before, region.after, s, c), budget - used
            )
            used += spent
            if more is None:
                break
            stats.follow_ups += 1
            in_time = used <= budget
            record(more, before + shown.text, in_time, prefetch=True)
            if not in_time or more.stop_reason == "cancelled" or shown.stop_reason != "time":
                break  # a prefetch for after acceptance: it waits in the source's cache
            if more.text:
                stats.extended += ghost == result.text  # once per suggestion
                ghost = shown.text + more.text
                stats.shown_chars += len(more.text)
            elif more.stop_reason == "time":
                break  # asking again would give the same nothing
            shown = shown.extended_by(more)
        return used

    # The region opens just after an Enter: a request, then the pause at a line end.
    request(1.0 / cps + line_pause)
    now = 1.0 / cps + line_pause
    while pos < len(target):
        upcoming = target[pos:]
        typed = keystroke_unit(target, pos)
        # Tab, else Ctrl+Right, when it writes more than typing would (else it is typing)
        take = next((piece for piece in (ghost, next_word(ghost))
                     if len(piece) > len(typed) and upcoming.startswith(piece)), "")
        if take:
            inserted, ghost = take, ghost[len(take) :]
            accepted_ids.add(ghost_index)
            stats.accepted_chars += len(take)
        else:
            inserted = typed
            ghost = ghost[len(typed) :] if ghost.startswith(typed) else ""
        stats.keystrokes += 1
        pos += len(inserted)
        gap = 1.0 / cps + (line_pause if "\n" in inserted else 0.0)
        if pos < len(target) and not ghost:  # what is left of a ghost needs no new request
            request(gap)
        now += gap
    stats.typing_s = now
    stats.accepted = len(accepted_ids)
    return stats


