"""A stand-in for a library whose native code crashes (a real SIGSEGV through ctypes)."""
import ctypes


def gather(values):
    # Reads address 0: a real segmentation fault, and a real faulthandler dump.
    return ctypes.string_at(0)


def bucketize(values):
    return gather(values)
