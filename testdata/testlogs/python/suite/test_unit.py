import ctypes
import unittest


def crash():
    return ctypes.string_at(0)


class TestGather(unittest.TestCase):
    def test_a_fine(self):
        self.assertEqual(1, 1)

    def test_gather(self):
        crash()

    def test_z_never(self):
        self.assertTrue(True)


if __name__ == "__main__":
    unittest.main()
