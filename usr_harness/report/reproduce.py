"""The copy-paste command that runs one drill again exactly as a run ran it.

A drill's own seed is derived from the run's seed and its node id, so the command
passes the run's `--drill-seed`, never the drill's seed. Plain strings only: the
pytest plugin imports this in every session.
"""

from __future__ import annotations

import shlex


def reproduce_command(
    nodeid: str,
    *,
    seed: int,
    scale: str,
    rootdir: str,
    engine_profile: str | None = None,
    engine_cmd: str | None = None,
    remote_options: tuple[str, ...] = (),
) -> str:
    """`cd ROOTDIR && pytest NODEID --drill-seed=N --drill-scale=S [--engine-profile=P] [--engine-cmd=C]`,
    then `remote_options` (the remote provider's, when it is not the default loopback host)."""
    argv = ["pytest", nodeid, f"--drill-seed={seed}", f"--drill-scale={scale}"]
    if engine_profile:
        argv.append(f"--engine-profile={engine_profile}")
    if engine_cmd:
        argv.append(f"--engine-cmd={engine_cmd}")
    argv += remote_options
    argv += ["-p", "no:xdist"]
    return f"cd {shlex.quote(rootdir)} && {shlex.join(argv)}"
