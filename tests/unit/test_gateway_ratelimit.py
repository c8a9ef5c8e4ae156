import pytest

from gateway.ratelimit import SlidingWindow


@pytest.mark.parametrize("hits, now, expected", [
    (0, 0.0, 0), (4, 1.0, 0), (5, 1.0, 299), (5, 299.9, 1), (5, 300.0, 0), (5, 150.5, 150),
])
def test_retry_after_at_the_edges(hits, now, expected):
    w = SlidingWindow(limit=5, window_s=300)
    for _ in range(hits):
        w.hit("p", 0.0)
    assert w.retry_after("p", now) == expected


def test_keys_are_independent_and_reset_clears():
    w = SlidingWindow(limit=1, window_s=60)
    w.hit("a", 0)
    assert w.retry_after("a", 1) == 59 and w.retry_after("b", 1) == 0
    w.reset("a")
    assert w.retry_after("a", 1) == 0
