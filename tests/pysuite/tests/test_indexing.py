import time

import gpu


def test_one():
    assert True


def test_take():
    # Crashes three seconds into the session, so that under `-n 4` its worker dies apart from
    # test_gather's (which runs at once, or on the worker that replaces this one, a few hundred
    # ms later): crashdelta tells two crashed workers apart by when each died (its sampler looks
    # every 100 ms); two that die within a look or two of each other are listed as candidates,
    # not joined. 1.5 s was not always enough on a loaded 2-core machine, where starting four
    # workers alone took over a second and the two crashes came within 100 ms (CI, 2026-11-30).
    time.sleep(3)
    gpu.take([1, 2])


def test_two():
    assert True
