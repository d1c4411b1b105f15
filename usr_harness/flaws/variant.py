"""A flawed engine: a throwaway copy of the package with one flaw patch applied, and the profile
that drives it (the usr-cli profile, with the copy first on the engine's import path)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

import usr_harness

PACKAGE = Path(usr_harness.__file__).resolve().parent
PROBE = "import usr_harness, usr_harness.cli.usr.app, usr_harness.sync.engine; print(usr_harness.__file__)"


class VariantError(Exception):
    """The variant could not be built: the patch does not apply, or the copy is not what imports."""


@dataclass(frozen=True)
class Variant:
    """Where a flawed copy lives and how the drills reach it."""

    folder: Path
    profile: Path
    command: str

    @property
    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.folder)}


def apply_patch(folder: Path, patch: Path, *, check: bool = False) -> None:
    """`git apply` the patch (paths `a/usr_harness/...`) inside `folder`, made its own repository so
    the paths are taken from there whatever folder holds it."""
    if not (folder / ".git").exists():
        _git(folder, "init", "-q")
    args = ["apply", "--check", str(patch)] if check else ["apply", str(patch)]
    _git(folder, *args)


def _git(folder: Path, *args: str) -> None:
    done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:
        raise VariantError(f"git {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")


def build_variant(patch: Path, folder: Path, python: str, cwd: Path) -> Variant:
    """Copy the package into `folder`, apply `patch`, and prove that the engine command run from
    `cwd` imports the copy (`python -P`: the current folder is not put ahead of PYTHONPATH)."""
    shutil.copytree(PACKAGE, folder / "usr_harness", ignore=shutil.ignore_patterns("__pycache__"))
    apply_patch(folder, patch)
    command = f"{python} -P -m usr_harness.cli.usr"
    variant = Variant(folder, folder / "engine-profile.yaml", command)
    probe = subprocess.run(
        [python, "-P", "-c", PROBE],
        cwd=cwd,
        env={**os.environ, **variant.env},
        capture_output=True,
        text=True,
    )
    imported = Path(probe.stdout.strip() or "?").resolve()
    if probe.returncode != 0 or not imported.is_relative_to(folder.resolve()):
        detail = probe.stderr.strip().splitlines()[-1:] or [f"imported {imported}"]
        raise VariantError(f"the patched copy is not what the engine imports: {detail[0]}")
    write_profile(variant, patch.name.removesuffix(".patch"))
    return variant


def write_profile(variant: Variant, name: str) -> None:
    """The usr-cli profile (its capabilities and outcome rules), renamed, with the copy's import path."""
    text = resources.files("usr_harness").joinpath("engines/profiles/usr-cli.toml").read_text("utf-8")
    data = tomllib.loads(text)
    data["name"] = f"flaw-{name}"
    data["summary"] = f"the bundled engine with flaw {name}"
    data["command"] = variant.command
    data["env"] = {**data.get("env", {}), **variant.env}
    variant.profile.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
