import gpu


def test_add():
    assert 1 + 1 == 2


class TestMPS:
    def test_sum(self):
        assert sum([1, 2]) == 3

    def test_gather(self):
        gpu.gather([1, 2, 3])

    def test_zeros(self):
        assert [0] * 2 == [0, 0]
