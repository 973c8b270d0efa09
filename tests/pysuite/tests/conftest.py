import os
import sys

# Lets the tests import gpu.py beside them, whatever the rootdir.
sys.path.insert(0, os.path.dirname(__file__))
