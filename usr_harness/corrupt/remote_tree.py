"""A datasets root on a remote host, reached only through the SSH session.

Bytes, sizes, symlinks, renames and removals go over the session's SFTP client;
the two things SFTP cannot do go over an exec channel with every argument
shell-quoted: `mkfifo`, and nanosecond timestamps (SFTP v3 carries whole seconds,
so putting an mtime back exactly needs the remote python's `os.utime(ns=...)`).
The local filesystem is never touched, even when the remote is 127.0.0.1.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shlex
import stat

from usr_harness.corrupt.tree import TreeStat
from usr_harness.dataset.layout import entry_kind, is_runtime
from usr_harness.errors import TransportError
from usr_harness.sync.remote import SshSession

_TIMES = "import os,sys;s=os.lstat(sys.argv[1]);print(s.st_atime_ns,s.st_mtime_ns)"
_UTIME = "import os,sys;os.utime(sys.argv[1],ns=(int(sys.argv[2]),int(sys.argv[3])))"


class RemoteTree:
    side = "remote"

    def __init__(self, session: SshSession, remote_path: str) -> None:
        self.session = session
        self.root = remote_path.rstrip("/") or "/"

    def _path(self, rel: str) -> str:
        return posixpath.join(self.root, rel) if rel else self.root

    def describe(self, rel: str) -> str:
        return f"{self.session.profile.name}:{self._path(rel)}"

    def read_bytes(self, rel: str) -> bytes:
        with self.session.sftp().open(self._path(rel), "rb") as handle:
            handle.prefetch()
            return handle.read()

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Any name a POSIX remote can hold: bytes that are not UTF-8 travel as the surrogates naming them."""
        with self.session.sftp().open(os.fsencode(self._path(rel)), "wb") as handle:
            handle.write(data)

    def write_at(self, rel: str, offset: int, data: bytes) -> None:
        with self.session.sftp().open(self._path(rel), "r+b") as handle:
            handle.seek(offset)
            handle.write(data)

    def append(self, rel: str, data: bytes) -> None:
        with self.session.sftp().open(self._path(rel), "ab") as handle:
            handle.write(data)

    def truncate(self, rel: str, size: int) -> None:
        self.session.sftp().truncate(self._path(rel), size)

    def stat(self, rel: str) -> TreeStat:
        info = self.session.sftp().lstat(self._path(rel))
        return TreeStat(entry_kind(info.st_mode or 0), info.st_size or 0)

    def times_ns(self, rel: str) -> tuple[int, int]:
        atime, mtime = self._python(_TIMES, self._path(rel)).split()
        return int(atime), int(mtime)

    def utime_ns(self, rel: str, atime_ns: int, mtime_ns: int) -> None:
        self._python(_UTIME, self._path(rel), str(atime_ns), str(mtime_ns))

    def unlink(self, rel: str) -> None:
        self.session.sftp().remove(self._path(rel))

    def rename(self, rel: str, new_rel: str) -> None:
        """Plain SFTP rename, which refuses an existing target (unlike posix_rename)."""
        self.session.sftp().rename(self._path(rel), self._path(new_rel))

    def symlink(self, target: str, rel: str) -> None:
        self.session.sftp().symlink(target, self._path(rel))

    def mkfifo(self, rel: str) -> None:
        self._run(["mkfifo", "--", self._path(rel)])

    def exists(self, rel: str) -> bool:
        try:
            self.session.sftp().lstat(self._path(rel))
        except FileNotFoundError:
            return False
        except OSError as error:
            if error.errno == errno.ENOENT:
                return False
            raise
        return True

    def walk(self, rel_dir: str) -> list[tuple[str, str]]:
        """(path, kind) of every non-directory entry under `rel_dir`, runtime files left out, sorted."""
        sftp = self.session.sftp()
        found: list[tuple[str, str]] = []
        pending = [rel_dir.strip("/")]
        while pending:
            current = pending.pop()
            for attrs in sftp.listdir_attr(self._path(current)):
                if is_runtime(attrs.filename):
                    continue
                rel = f"{current}/{attrs.filename}" if current else attrs.filename
                if stat.S_ISDIR(attrs.st_mode or 0):
                    pending.append(rel)
                else:
                    found.append((rel, entry_kind(attrs.st_mode or 0)))
        return sorted(found)

    def _python(self, code: str, *args: str) -> str:
        return self._run([self.session.profile.python, "-c", code, *args])

    def _run(self, argv: list[str]) -> str:
        command = shlex.join(argv)
        result = self.session.run(command)
        if result.exit_status != 0:
            raise TransportError(
                f"remote {self.session.profile.name}: `{command}` failed ({result.exit_status}): "
                f"{result.stderr.decode(errors='replace').strip()}"
            )
        return result.stdout.decode()
