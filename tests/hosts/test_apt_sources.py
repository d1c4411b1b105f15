"""The image build's mirror is the one the machine's apt uses, read from its sources, never named in code."""

from __future__ import annotations

from pathlib import Path

import pytest

from usr_harness.errors import ConfigError
from usr_harness.hosts.apt_sources import MIRROR_ENV, debian_mirrors, machine_debian_mirror

DEB822 = """\
Types: deb
# a snapshot of the archive
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_deb822_takes_the_archive_and_leaves_security_out() -> None:
    assert debian_mirrors([("debian.sources", DEB822)]) == ["http://mirror.example/debian"]


def test_one_line_entries_with_options_and_comments() -> None:
    text = """\
# deb http://commented.example/debian bookworm main
deb-src http://source.example/debian bookworm main
deb [arch=amd64 signed-by=/k.gpg] http://cloud.example/apt cloud-sdk-bookworm main
deb [ signed-by=/k.gpg ] http://one.example/debian/ bullseye main contrib # trailing
deb http://two.example/debian bookworm contrib
"""
    assert debian_mirrors([("sources.list", text)]) == ["http://one.example/debian"]


def test_a_disabled_stanza_and_other_archives_are_not_mirrors() -> None:
    text = """\
Types: deb
URIs: http://off.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb
URIs: https://nodes.example/node_20.x
Suites: nodistro
Components: main
"""
    assert debian_mirrors([("x.sources", text)]) == []


def test_machine_mirror_reads_list_and_sources_files_in_order(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    (tmp_path / "sources.list.d" / "old.list.disabled").write_text("deb http://no.example/debian sid main\n")
    assert machine_debian_mirror({}, tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list").write_text("deb http://first.example/debian bookworm main\n")
    assert machine_debian_mirror({}, tmp_path) == "http://first.example/debian"
    assert machine_debian_mirror({MIRROR_ENV: "http://chosen.example/debian/"}, tmp_path) == (
        "http://chosen.example/debian"
    )


def test_no_mirror_is_a_config_error_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=MIRROR_ENV):
        machine_debian_mirror({}, tmp_path)
