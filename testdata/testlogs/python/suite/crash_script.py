import ctypes


def inner():
    return ctypes.string_at(0)


def main():
    inner()


main()
