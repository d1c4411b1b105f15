"""The image recipe: its hash names every input, so a changed input builds a new image."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from usr_harness.errors import ConfigError
from usr_harness.hosts.apt_sources import MIRROR_ENV
from usr_harness.hosts.debian_image import (
    ENTRY_IN_IMAGE,
    REPOSITORY,
    SUITES,
    ImageRecipe,
    ensure_image,
    has_image,
    main,
    mmdebstrap_argv,
)


def test_the_tag_is_stable_and_names_the_suite() -> None:
    first, again = ImageRecipe.for_suite("bullseye"), ImageRecipe.for_suite("bullseye")
    assert first.tag == again.tag
    assert first.tag.startswith(f"{REPOSITORY}:bullseye-") and len(first.inputs_hash) == 16
    assert ImageRecipe.for_suite("bookworm").tag != first.tag


@pytest.mark.parametrize(
    "change",
    [
        {"packages": ("openssh-server", "python3", "rsync")},
        {"variant": "essential"},
        {"entry_script": b"#!/bin/sh\nexec sleep 1\n"},
    ],
)
def test_every_input_changes_the_tag(change: dict) -> None:
    recipe = ImageRecipe.for_suite("bookworm")
    assert replace(recipe, **change).tag != recipe.tag


def test_package_order_does_not_change_the_tag() -> None:
    recipe = ImageRecipe.for_suite("bookworm")
    assert replace(recipe, packages=tuple(reversed(recipe.packages))).tag == recipe.tag


def test_an_unknown_suite_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="choose from bullseye, bookworm"):
        ImageRecipe.for_suite("potato")
    assert set(SUITES) == {"bullseye", "bookworm"}


def test_the_build_command_takes_the_suite_mirror_and_entry_script(tmp_path: Path) -> None:
    recipe = ImageRecipe.for_suite("bullseye")
    argv = mmdebstrap_argv(recipe, "http://mirror.example/debian", tmp_path / "entry", tmp_path / "r.tar")
    assert argv[0] == "mmdebstrap" and "--variant=minbase" in argv
    assert "--include=openssh-server,python3" in argv
    assert f"--customize-hook=upload {tmp_path / 'entry'} {ENTRY_IN_IMAGE}" in argv
    assert argv[-3:] == ["bullseye", str(tmp_path / "r.tar"), "http://mirror.example/debian"]
    assert recipe.entry_script.startswith(b"#!/bin/sh") and b"sshd -D -e" in recipe.entry_script


def test_a_build_from_an_unreachable_mirror_is_a_config_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from usr_harness.hosts.container import docker_unavailable

    if docker_unavailable() or shutil.which("mmdebstrap") is None:
        pytest.skip(f"needs Docker and mmdebstrap: {docker_unavailable() or 'mmdebstrap is missing'}")
    import docker

    monkeypatch.setenv(MIRROR_ENV, "http://127.0.0.1:9/debian")  # nothing listens on the discard port
    recipe = replace(ImageRecipe.for_suite("bookworm"), entry_script=b"#!/bin/sh\n# never built\n")
    client = docker.from_env()
    try:
        with pytest.raises(
            ConfigError, match=r"mmdebstrap bookworm from http://127\.0\.0\.1:9/debian failed"
        ):
            ensure_image(recipe, client, cache_dir=tmp_path)
        assert not has_image(client, recipe.tag)
    finally:
        client.close()
    assert [path.suffix for path in tmp_path.iterdir()] == [".lock"]  # the scratch folder is gone


def test_the_image_command_builds_nothing_without_docker_and_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert main(["bullseye"]) == 0
    assert "images: not built: Docker does not answer" in capsys.readouterr().err


def test_the_image_command_names_the_image_it_found_or_built(capsys: pytest.CaptureFixture[str]) -> None:
    from usr_harness.hosts.container import container_unavailable

    if container_unavailable("bookworm"):
        pytest.skip(f"container provider: {container_unavailable('bookworm')}")
    assert main(["bookworm"]) == 0
    tag = ImageRecipe.for_suite("bookworm").tag
    assert capsys.readouterr().out.startswith(f"images: bookworm: {tag} ")
