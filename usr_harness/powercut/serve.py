"""`python -m usr_harness.powercut.serve BACKING MOUNTPOINT LOG_FOLDER [--cut-after K] [--identities F]`.

A separate process, so the FUSE loop never shares a GIL with the programs doing I/O on the mount.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from usr_harness.powercut.tree import load_identities


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="usr_harness.powercut.serve")
    parser.add_argument("backing", type=Path)
    parser.add_argument("mountpoint", type=Path)
    parser.add_argument("log_folder", type=Path)
    parser.add_argument("--cut-after", type=int, default=None)
    parser.add_argument(
        "--identities", type=Path, default=None, help="JSON: path -> [ino, mtime_ns, ctime_ns]"
    )
    args = parser.parse_args(argv)
    identities = None
    if args.identities is not None:
        identities = load_identities(args.identities)
    # mfusepy picks libfuse 2 when both are installed; the mount helper we check for is fusermount3.
    os.environ.setdefault("FUSE_LIBRARY_NAME", "fuse3")
    from usr_harness.powercut.layer import serve

    serve(
        args.backing.resolve(),
        args.mountpoint.resolve(),
        args.log_folder.resolve(),
        args.cut_after,
        identities,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
