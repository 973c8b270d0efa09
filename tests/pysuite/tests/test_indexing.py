import time

import gpu


def test_one():
    assert True


def test_take():
    # Crashes a second and a half into the session, so that under `-n 4` its worker dies apart
    # from test_gather's (which runs at once, or on the worker that replaces this one, a few
    # hundred ms later): crashdelta tells two crashed workers apart by when each died (its
    # sampler looks every 100 ms); two that die within a look or two of each other are listed
    # as candidates, not joined.
    time.sleep(1.5)
    gpu.take([1, 2])


def test_two():
    assert True
