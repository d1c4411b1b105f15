"""The FUSE passthrough: every call goes to the backing folder, and each durability-relevant one is logged.

It runs in its own process (`python -m usr_harness.powercut.serve`), single-threaded so the log's order is
the order the calls took effect. It never syncs the backing folder: durability is what the log says, and a
power cut is applied afterwards from the log (`mount.PowerCutMount.power_cut`). With a cut point, every
durability-relevant call after the k-th fails with EIO, as if the machine had gone dark there.

Inode numbers are the layer's to give (`use_ino`): the backing file's, or, after a cut, the one the file
had before it (`identities`, with its mtime and ctime until the file changes again), so a program that
recorded a file's identity before the cut finds the same one after it, as on a disk after a reboot.

A cut can also be applied while mounted (`PowerCutMount.cut_in_place`): the parent rewrites the backing
folder and leaves a reset request in the control folder; the next getattr of the root (the parent stats
the mount point) reloads the name space and identities and starts a new log. The mount, and so its
device number, stays: an engine's record of (st_dev, st_ino, ...) made before the cut still matches. The
kernel caches nothing (entry, attribute and negative timeouts 0), so it sees the new state at once.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import mfusepy

from usr_harness.powercut.errors import PowerCutError
from usr_harness.powercut.namespace import Namespace
from usr_harness.powercut.ops import RESET_REQUEST, LogWriter, Op, OpKind
from usr_harness.powercut.tree import Identity, listing, load_identities

STAT_FIELDS = (
    "st_mode",
    "st_ino",
    "st_dev",
    "st_nlink",
    "st_uid",
    "st_gid",
    "st_size",
    "st_atime_ns",
    "st_mtime_ns",
    "st_ctime_ns",
    "st_blocks",
    "st_blksize",
)


class RecordingPassthrough(mfusepy.Operations):
    """mfusepy operations over `backing`; handles are the backing file descriptors."""

    use_ns = True

    def __init__(
        self,
        backing: Path,
        log: LogWriter,
        cut_after: int | None = None,
        identities: dict[str, Identity] | None = None,
        control: Path | None = None,
    ) -> None:
        self.backing = backing
        self.log = log
        self.control = control
        self.file_nodes: dict[int, int] = {}
        self.dir_nodes: dict[int, int] = {}
        self._next_dir_handle = 1
        self._load(cut_after, identities)

    def _load(self, cut_after: int | None, identities: dict[str, Identity] | None) -> None:
        """Take the backing folder as it is now, with these identities, as the state ops start from."""
        self.cut_after = cut_after
        self.count = 0
        self.names = Namespace.from_listing(listing(self.backing))
        self.kept: dict[int, Identity] = {}
        for path, identity in (identities or {}).items():
            try:
                self.kept[self.names.resolve(path)] = identity
            except PowerCutError:
                continue
        self.changed: set[int] = set()

    def _take_reset(self) -> None:
        """Apply a reset request left in the control folder (see the module docstring), then remove it."""
        request = None if self.control is None else self.control / RESET_REQUEST
        if request is None or not request.exists():
            return
        body = json.loads(request.read_text(encoding="utf-8"))
        identities = None
        if body.get("identities"):
            identities = load_identities(Path(body["identities"]))
        self.log.close()
        self.log = LogWriter(Path(body["log_folder"]))
        self.file_nodes.clear()
        self.dir_nodes.clear()
        self._load(None, identities)
        request.unlink()

    def _real(self, path: str) -> str:
        return os.path.join(self.backing, path.lstrip("/"))

    def _admit(self) -> None:
        """Refuse every durability-relevant call once the cut point is reached."""
        if self.cut_after is not None and self.count >= self.cut_after:
            raise mfusepy.FuseOSError(errno.EIO)

    def _record(self, op: Op) -> None:
        self.count += 1
        self.log.append(op)

    def _node(self, path: str, fh: int | None = None) -> int | None:
        if fh is not None and fh in self.file_nodes:
            return self.file_nodes[fh]
        try:
            return self.names.resolve(path)
        except PowerCutError:
            return None

    def _changed(self, *paths: str) -> None:
        """Times of these nodes (and their parents' entries) now come from the backing folder."""
        for path in paths:
            for candidate in (path, os.path.dirname(path)):
                node = self._node(candidate)
                if node is not None:
                    self.changed.add(node)

    def _identity(self, node: int, st: os.stat_result) -> Identity:
        """(ino, mtime_ns, ctime_ns) as getattr shows this node."""
        if node in self.kept:
            ino, mtime, ctime = self.kept[node]
            if node in self.changed:
                return ino, st.st_mtime_ns, st.st_ctime_ns
            return ino, mtime, ctime
        return st.st_ino, st.st_mtime_ns, st.st_ctime_ns

    # Reads: straight through.
    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        if path == "/":
            self._take_reset()
        st = os.fstat(fh) if fh is not None else os.lstat(self._real(path))
        attrs = {field: getattr(st, field) for field in STAT_FIELDS}
        for name in ("atime", "mtime", "ctime"):
            attrs[f"st_{name}"] = attrs.pop(f"st_{name}_ns")
        node = self._node(path, fh)
        if node is not None:
            attrs["st_ino"], attrs["st_mtime"], attrs["st_ctime"] = self._identity(node, st)
        return attrs

    def readdir(self, path: str, fh: int) -> list[tuple[str, dict[str, int], int]]:
        """Names with their mode and inode number: with use_ino, an entry numbered 0 would be skipped."""
        base = path.rstrip("/")
        named = [(".", path), ("..", os.path.dirname(base) or "/")]
        named += [(name, f"{base}/{name}") for name in os.listdir(self._real(path))]
        entries = []
        for name, child in named:
            st = os.lstat(self._real(child))
            node = self._node(child)
            ino = st.st_ino if node is None else self._identity(node, st)[0]
            entries.append((name, {"st_mode": st.st_mode, "st_ino": ino}, 0))
        return entries

    def readlink(self, path: str) -> str:
        return os.readlink(self._real(path))

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    def statfs(self, path: str) -> dict[str, int]:
        st = os.statvfs(self._real(path))
        fields = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_frsize")
        return {field: getattr(st, field) for field in fields} | {"f_namemax": st.f_namemax}

    def access(self, path: str, amode: int) -> int:
        if not os.access(self._real(path), amode):
            raise mfusepy.FuseOSError(errno.EACCES)
        return 0

    # Handles.
    def open(self, path: str, flags: int) -> int:
        node = self.names.resolve(path)
        if flags & os.O_TRUNC and flags & os.O_ACCMODE:
            self._admit()
        # O_APPEND is left out: the kernel passes the end-of-file offset, and pwrite on an O_APPEND descriptor
        # would ignore it.
        fd = os.open(self._real(path), flags & ~(os.O_APPEND | os.O_CREAT | os.O_EXCL))
        self.file_nodes[fd] = node
        if flags & os.O_TRUNC and flags & os.O_ACCMODE:
            self.changed.add(node)
            self._record(Op(OpKind.TRUNCATE, path=path, node=node, offset=0))
        return fd

    def create(self, path: str, mode: int, flags: int) -> int:
        self._admit()
        fd = os.open(self._real(path), (flags & ~os.O_APPEND) | os.O_CREAT | os.O_EXCL, mode)
        self._changed(path)
        st = os.fstat(fd)
        self._record(Op(OpKind.CREATE, path=path, identity=(st.st_ino, st.st_mtime_ns, st.st_ctime_ns)))
        self.file_nodes[fd] = self.names.add(path, "file")
        return fd

    def release(self, path: str, fh: int) -> int:
        os.close(fh)
        self.file_nodes.pop(fh, None)
        return 0

    def flush(self, path: str, fh: int) -> int:
        return 0

    def opendir(self, path: str) -> int:
        handle = self._next_dir_handle
        self._next_dir_handle += 1
        self.dir_nodes[handle] = self.names.resolve(path)
        return handle

    def releasedir(self, path: str, fh: int) -> int:
        self.dir_nodes.pop(fh, None)
        return 0

    # Data.
    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        self._admit()
        written = os.pwrite(fh, data, offset)
        self.changed.add(self.file_nodes[fh])
        self._record(
            Op(OpKind.WRITE, path=path or "", node=self.file_nodes[fh], offset=offset, data=data[:written])
        )
        return written

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        self._admit()
        if fh is not None:
            os.ftruncate(fh, length)
            node = self.file_nodes[fh]
        else:
            os.truncate(self._real(path), length)
            node = self.names.resolve(path)
        self.changed.add(node)
        self._record(Op(OpKind.TRUNCATE, path=path or "", node=node, offset=length))
        return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        self._admit()
        kind = OpKind.FDATASYNC if datasync else OpKind.FSYNC
        node = self.file_nodes[fh]
        self._record(Op(kind, path=path or "", node=node, identity=self._identity(node, os.fstat(fh))))
        return 0

    def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
        self._admit()
        kind = OpKind.FDATASYNC if datasync else OpKind.FSYNC
        node = self.dir_nodes[fh]
        st = os.lstat(self._real(path)) if path else None
        identity = self._identity(node, st) if st is not None else None
        self._record(Op(kind, path=path or "", node=node, identity=identity))
        return 0

    # Names.
    def mkdir(self, path: str, mode: int) -> int:
        self._admit()
        os.mkdir(self._real(path), mode)
        self._changed(path)
        st = os.lstat(self._real(path))
        self._record(Op(OpKind.MKDIR, path=path, identity=(st.st_ino, st.st_mtime_ns, st.st_ctime_ns)))
        self.names.add(path, "dir")
        return 0

    def rmdir(self, path: str) -> int:
        self._admit()
        self._changed(path)
        os.rmdir(self._real(path))
        self._record(Op(OpKind.RMDIR, path=path))
        self.names.remove(path)
        return 0

    def unlink(self, path: str) -> int:
        self._admit()
        self._changed(path)
        os.unlink(self._real(path))
        self._record(Op(OpKind.UNLINK, path=path))
        self.names.remove(path)
        return 0

    def rename(self, old: str, new: str) -> int:
        self._admit()
        os.rename(self._real(old), self._real(new))
        self._changed(old, new)
        self._record(Op(OpKind.RENAME, path=old, path2=new))
        self.names.rename(old, new)
        self._changed(new)
        return 0

    def link(self, target: str, source: str) -> int:
        self._admit()
        os.link(self._real(source), self._real(target))
        self._changed(source, target)
        self._record(Op(OpKind.LINK, path=source, path2=target))
        self.names.link(source, target)
        return 0

    def symlink(self, target: str, source: str) -> int:
        self._admit()
        os.symlink(source, self._real(target))
        self._changed(target)
        st = os.lstat(self._real(target))
        identity = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
        self._record(Op(OpKind.SYMLINK, path=target, path2=source, identity=identity))
        self.names.add(target, "symlink")
        return 0

    # Attributes the model does not track (mode, owner, times): passed through, not logged.
    def chmod(self, path: str, mode: int) -> int:
        os.chmod(self._real(path), mode)
        self._changed(path)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        os.chown(self._real(path), uid, gid, follow_symlinks=False)
        self._changed(path)
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        os.utime(self._real(path), ns=times, follow_symlinks=False)
        self._changed(path)
        return 0


class _Fuse(mfusepy.FUSE):
    """mfusepy drops rename(2)'s flags; refuse RENAME_NOREPLACE/EXCHANGE rather than do a plain rename."""

    def rename_fuse_3(self, old: bytes, new: bytes, flags: int) -> int:
        if flags:
            return -errno.EINVAL
        return self.rename_fuse_2(old, new)


def serve(
    backing: Path,
    mountpoint: Path,
    log_folder: Path,
    cut_after: int | None,
    identities: dict[str, Identity] | None = None,
) -> None:
    """Mount in the foreground until unmounted (fusermount3 -u); the log is closed on the way out.

    `log_folder` is also the control folder where a reset request is looked for.
    """
    operations = RecordingPassthrough(backing, LogWriter(log_folder), cut_after, identities, log_folder)
    try:
        _Fuse(
            operations,
            str(mountpoint),
            foreground=True,
            nothreads=True,
            hard_remove=True,
            use_ino=True,
            entry_timeout="0",
            attr_timeout="0",
            negative_timeout="0",
            fsname="usr-powercut",
        )
    finally:
        operations.log.close()
