import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for sub in ("lib", "sim", "host", "tools", "host_tests/common"):  # common: testkit and the shared tests
    p = os.path.join(ROOT, sub)
    if p not in sys.path:
        sys.path.insert(0, p)
