"""Which Debian mirror this machine's apt already uses, so an image build reaches the same one.

A machine without an image registry may still reach a Debian mirror (often its
own, behind a proxy or a snapshot): the container images are built from that
mirror, read from the apt sources at run time rather than named anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from usr_harness.errors import ConfigError

MIRROR_ENV = "USR_HARNESS_DEBIAN_MIRROR"
# Suites of Debian's main archive, by codename or alias. Entries such as `bookworm-security`,
# `cloud-sdk-bookworm` or `nodistro` belong to other archives and are never taken for the mirror.
DEBIAN_SUITES = frozenset(
    {"buster", "bullseye", "bookworm", "trixie", "forky", "sid"}
    | {"oldoldstable", "oldstable", "stable", "testing", "unstable"}
)


def debian_mirrors(files: Iterable[tuple[str, str]]) -> list[str]:
    """Mirror URIs serving Debian's main archive, in the order apt reads them.

    `files` are (file name, text) pairs: one-line `.list` files and deb822 `.sources` files.
    """
    found: list[str] = []
    for name, text in files:
        entries = _deb822_entries(text) if name.endswith(".sources") else _one_line_entries(text)
        for uri, suites, components in entries:
            mirror = uri.rstrip("/")
            if "main" in components and DEBIAN_SUITES & set(suites) and mirror not in found:
                found.append(mirror)
    return found


def machine_debian_mirror(environ: Mapping[str, str] = os.environ, apt_dir: Path = Path("/etc/apt")) -> str:
    """`USR_HARNESS_DEBIAN_MIRROR`, else the first Debian mirror in the apt sources under `apt_dir`."""
    chosen = environ.get(MIRROR_ENV, "").strip()
    if chosen:
        return chosen.rstrip("/")
    paths = [apt_dir / "sources.list"]
    parts = apt_dir / "sources.list.d"
    if parts.is_dir():
        paths += sorted(p for p in parts.iterdir() if p.suffix in {".list", ".sources"})
    files = [
        (path.name, path.read_text(encoding="utf-8", errors="replace")) for path in paths if path.is_file()
    ]
    mirrors = debian_mirrors(files)
    if not mirrors:
        raise ConfigError(
            f"no Debian mirror in the apt sources under {apt_dir} (a `deb` entry for a Debian suite with "
            f"component main); set {MIRROR_ENV} to one"
        )
    return mirrors[0]


def _one_line_entries(text: str) -> list[tuple[str, list[str], list[str]]]:
    """`deb [options] URI SUITE COMPONENT...` lines; `deb-src` and comments are skipped."""
    entries = []
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 3:
            entries.append((words[0], [words[1]], words[2:]))
    return entries


def _deb822_entries(text: str) -> list[tuple[str, list[str], list[str]]]:
    """Stanzas of `Types: deb`, not `Enabled: no`; each of their URIs with their suites and components."""
    entries = []
    for stanza in _stanzas(text):
        if "deb" not in stanza.get("types", "").split() or stanza.get("enabled", "yes").lower() == "no":
            continue
        suites, components = stanza.get("suites", "").split(), stanza.get("components", "").split()
        entries += [(uri, suites, components) for uri in stanza.get("uris", "").split()]
    return entries


def _stanzas(text: str) -> list[dict[str, str]]:
    stanzas: list[dict[str, str]] = [{}]
    key = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("#"):
            continue
        if not line:
            if stanzas[-1]:
                stanzas.append({})
            key = None
        elif line[0].isspace() and key is not None:
            stanzas[-1][key] += " " + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            stanzas[-1][key] = value.strip()
    return [stanza for stanza in stanzas if stanza]
