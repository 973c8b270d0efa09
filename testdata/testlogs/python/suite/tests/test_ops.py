import ops


def test_one():
    assert True


def test_bucketize():
    ops.bucketize([1, 2])


def test_two():
    assert True
