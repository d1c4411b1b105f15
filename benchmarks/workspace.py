"""One benchmark run's folders around one loopback sshd: the engine's two sides and rsync's two sides.

The engine syncs `local/<id>` with `remote/<id>`; the references sync their own pair of
copies (`mirror-local`, `mirror-remote`) of the same files, so neither disturbs the
other's state while both read the same bytes through the same sshd.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path

from benchmarks.breakdown import engine_phases
from benchmarks.datasets import BuiltDataset
from benchmarks.measure import BenchError, CommandRunner, Run
from benchmarks.references import SshTarget
from usr_harness.dataset.layout import SYNC_STATE_DIR
from usr_harness.dataset.registry import registry_path
from usr_harness.hosts.loopback import LoopbackSshd

REMOTE_NAME = "bench"
CLIENTS = ("paramiko", "openssh")
"""The same profile with either SSH client: paramiko is the default, the system ssh the bulk mover."""
USR_BIN = Path(sys.executable).with_name("usr")


class Workspace:
    """Folders, remote profile and runners of one run; the sshd is started and stopped by the caller."""

    def __init__(self, workdir: Path, sshd: LoopbackSshd) -> None:
        self.workdir = workdir.absolute()
        workdir = self.workdir
        self.sshd = sshd
        self.local_root = workdir / "local"
        self.remote_root = workdir / "remote"
        self.mirror_local = workdir / "mirror-local"
        self.mirror_remote = workdir / "mirror-remote"
        self.audits = workdir / "audits"
        for folder in (self.local_root, self.remote_root, self.mirror_local, self.mirror_remote, self.audits):
            folder.mkdir(parents=True, exist_ok=True)
        self.remotes_configs = {
            client: sshd.write_remotes_yaml(
                workdir / f"remotes-{client}.yaml", REMOTE_NAME, base_dir=self.remote_root, client=client
            )
            for client in CLIENTS
        }
        self.target = SshTarget.of(sshd)
        self.runner = CommandRunner(sshd)
        self._audit_count = 0
        self.last_audit: dict = {}
        """The whole audit of the last `usr` run (`data`, and beside it the hash caches' counters)."""

    def place(self, built: BuiltDataset, *, link: bool = False) -> None:
        """Fresh copies of a built dataset on the remote and the mirror remote; the locals start empty.

        `link` hard-links instead of copying: only for data neither side ever writes in place.
        """
        for root in (self.local_root, self.remote_root, self.mirror_remote):
            shutil.copyfile(registry_path(built.root), registry_path(root))
        copy = os.link if link else shutil.copy2
        for root in (self.remote_root, self.mirror_remote):
            drop(root / built.spec.name)
            shutil.copytree(built.path, root / built.spec.name, copy_function=copy)
        self.forget_local(built.spec.name)
        drop(self.mirror_local / built.spec.name)

    def forget_local(self, name: str) -> None:
        """No local copy and no sync base: the next pull is a first pull."""
        drop(self.local_root / name)
        (self.local_root / SYNC_STATE_DIR / REMOTE_NAME / f"{name}.json").unlink(missing_ok=True)

    def forget_remote(self, name: str) -> None:
        """No remote copy and no sync base: the next push is a first push."""
        drop(self.remote_root / name)
        (self.local_root / SYNC_STATE_DIR / REMOTE_NAME / f"{name}.json").unlink(missing_ok=True)

    def usr(self, action: str, name: str, *, expect: str, client: str = "paramiko") -> tuple[Run, dict]:
        """Run `usr ACTION NAME bench` as an operator would; the audit must show `expect`."""
        self._audit_count += 1
        audit_path = self.audits / f"{self._audit_count:04d}-{action}-{name}.json"
        config = self.remotes_configs[client]
        argv = [str(USR_BIN), "--root", str(self.local_root), "--remotes-config", str(config)]
        argv += [action, name, REMOTE_NAME, "--audit-json-out", str(audit_path)]
        if action != "diff":
            argv.append("-y")
        run = self.runner.run(argv)
        self.last_audit = json.loads(audit_path.read_text(encoding="utf-8"))
        phases = engine_phases(self.last_audit["timings"])
        phases["rest"] = max(run.seconds - phases["total"], 0.0)
        run = dataclasses.replace(run, phases=phases)
        audit = self.last_audit["data"]
        if audit["transfer_state"] != expect:
            raise BenchError(f"usr {action} {name}: expected {expect}, audit says {audit['transfer_state']}")
        return run, audit

    def remote_path(self, root: Path, name: str) -> str:
        """`user@host:/root/name/` for rsync (the trailing slash syncs the folder's contents)."""
        return self.target.remote(root / name) + "/"


def drop(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
