import os
import time

import gpu


def test_add():
    assert 1 + 1 == 2


class TestMPS:
    def test_sum(self):
        assert sum([1, 2]) == 3

    def test_gather(self):
        # Under `-n 4` xdist hands this test to the worker that also runs
        # test_indexing.py::test_take, which crashes it first; this test then runs on its
        # replacement (gw4: replacements are numbered after the first -n workers) as soon as it
        # is up, and the two workers die a few hundred ms apart, or, on a loaded machine, within
        # one of crashdelta's 100 ms looks, when nothing tells the two dumps apart and both
        # crashes are rightly listed as ambiguous (CI, 2026-11-30, one run in seven). The
        # end-to-end test is of the join when the deaths can be told apart: the replacement
        # waits first.
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")[2:]
        count = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
        if worker.isdigit() and count.isdigit() and int(worker) >= int(count):
            time.sleep(1.5)
        gpu.gather([1, 2, 3])

    def test_zeros(self):
        assert [0] * 2 == [0, 0]
