"""The first program the remote runs: it reads the agent's text and runs it, compiled at most once.

Compiling the ~85 KB agent took 70-100 ms of every command's remote start. The agent text
is still sent on every connect (the remote runs nothing it did not just receive), and its
compiled code is kept under the remote user's cache folder by the sha256 of that text and the
interpreter's cache tag, like a `__pycache__` entry: the same bytes give the same code. A
cached entry carries the sha256 of its own bytes, so a torn or damaged file is compiled
again rather than loaded; a cache folder that cannot be written only costs the compile.
Stdlib only and Python 3.8, like the agent.
"""

import contextlib
import hashlib
import marshal
import os
import sys

CACHE_DIR = ("usr-harness", "agent")
KEEP = 8
"""Entries kept per interpreter, newest first: laptops on different versions never evict each other."""


def cache_folder() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, *CACHE_DIR)


def load_agent(source: bytes):
    """The agent's code object: from the cache when its entry is whole, else compiled (and cached)."""
    tag = sys.implementation.cache_tag or "none"
    folder = cache_folder()
    path = os.path.join(folder, hashlib.sha256(source).hexdigest() + "." + tag)
    try:
        with open(path, "rb") as handle:
            entry = handle.read()
        if hashlib.sha256(entry[32:]).digest() == entry[:32]:
            return marshal.loads(entry[32:])
    except (OSError, ValueError, EOFError, TypeError):
        pass
    code = compile(source, "usr-agent", "exec")
    _store(folder, path, tag, marshal.dumps(code))
    return code


def _store(folder: str, path: str, tag: str, data: bytes) -> None:
    """Write the entry atomically and drop this interpreter's entries past the newest `KEEP`."""
    temp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with open(temp, "wb") as handle:
            handle.write(hashlib.sha256(data).digest() + data)
        os.replace(temp, path)
        entries = [os.path.join(folder, name) for name in os.listdir(folder) if name.endswith("." + tag)]
        for old in sorted(entries, key=os.path.getmtime, reverse=True)[KEEP:]:
            os.remove(old)
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(temp)


def main() -> None:
    stream = sys.stdin.buffer
    source = stream.read(int(stream.readline()))
    exec(load_agent(source), {"__name__": "__main__"})


if __name__ == "__main__":
    main()
