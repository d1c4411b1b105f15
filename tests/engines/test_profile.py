"""Engine profiles: built-ins load, a user's file is checked field by field, outcomes read to families."""

from __future__ import annotations

from pathlib import Path

import pytest

from usr_harness.engines import CAPABILITIES, builtin_profiles, load_profile
from usr_harness.engines.profile import OutcomeRules, parse_profile
from usr_harness.errors import UsageError


def test_builtin_profiles_load_and_name_only_known_capabilities() -> None:
    assert set(builtin_profiles()) >= {"bundled", "usr-cli", "upstream"}
    for name in builtin_profiles():
        profile = load_profile(name)
        assert profile.name == name
        assert profile.capabilities <= set(CAPABILITIES)
    assert load_profile(None).name == "bundled"


def test_missing_capabilities_are_named_in_the_words_of_an_unknown_verdict() -> None:
    upstream = load_profile("upstream")
    assert upstream.missing("remote-path") is None
    reason = upstream.missing("force", "lock-timeout")
    assert reason == "engine upstream has no --force to override a divergence; no --lock-timeout SECONDS"
    with pytest.raises(ValueError, match="unknown capability"):
        upstream.has("teleport")


def test_a_user_profile_file_in_yaml_is_read(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "runner: command\ncommand: my-usr\ncapabilities: [force]\n"
        "outcome:\n  message_tokens: [[refused, diverged]]\n  exit_families: {3: config}\n"
    )
    profile = load_profile(path)
    assert (profile.name, profile.command, profile.has("force")) == ("mine", "my-usr", True)
    assert profile.outcome.family(1, None, "push REFUSED: remote moved") == "diverged"
    assert profile.outcome.family(3, None, "") == "config"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"runner": "telepathy"}, "runner is 'telepathy'"),
        ({"capabilities": ["force", "warp"]}, "unknown capabilities \\['warp'\\]"),
        ({"remote_styel": "ssh-alias"}, "unknown settings \\['remote_styel'\\]"),
        ({"outcome": {"message_tokens": [["only-one"]]}}, "message_tokens are \\[token, family\\] pairs"),
        ({"outcome": {"exit_family": {}}}, "unknown settings \\['exit_family'\\]"),
        (["not", "a", "table"], "must be a table"),
        ({"words": {"CHANGED": ""}}, "words is a table of word"),
        ({"words": ["CHANGED"]}, "words is a table of word"),
    ],
)
def test_a_mistake_in_a_profile_is_a_named_usage_error(data, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_profile(data, source="mine.toml")


def test_unknown_names_and_unreadable_files_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="built-in ones are"):
        load_profile("no-such-engine")
    with pytest.raises(UsageError, match="does not exist"):
        load_profile(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [unclosed\n")
    with pytest.raises(UsageError, match="is not valid"):
        load_profile(broken)


def test_family_prefers_the_audit_then_the_marker_then_tokens_then_the_exit_code() -> None:
    rules = OutcomeRules(
        family_marker=r"error\[([a-z]+)\]",
        exit_families={2: "usage"},
        message_tokens=(("post-pull", "verify"), ("lock", "lock")),
    )
    audit = {"data": {"error": {"family": "sidecars"}}}
    assert rules.family(0, audit, "error[lock]") is None
    assert rules.family(8, audit, "error[lock]") == "sidecars"
    assert rules.family(8, None, "usr: error[events]: not a prefix; lock held") == "events"
    assert rules.family(2, None, "Post-Pull verification failed near the lock") == "verify"
    assert rules.family(2, None, "bad arguments") == "usage"
    assert rules.family(99, None, "bad arguments") == "unknown"


def test_upstream_tokens_read_its_known_messages() -> None:
    family = load_profile("upstream").outcome.family
    assert family(2, None, "Host key verification failed.") == "auth"
    assert family(2, None, "post-pull verification failed: primary sha mismatch") == "verify"
    assert family(2, None, "remote _derived has a symlink entry: x") == "sidecars"


def test_an_engine_makes_its_own_work_folder(tmp_path: Path) -> None:
    """The cycle names a work folder that does not exist yet; the first call must not fail on it."""
    from usr_harness.engines import make_engine

    engine = make_engine(tmp_path / "root", workdir=tmp_path / "not-yet" / "engine")
    assert engine.run("--help").ok
    assert (tmp_path / "not-yet" / "engine").is_dir()


def test_a_command_profile_without_a_command_is_a_usage_error(tmp_path: Path) -> None:
    from usr_harness.engines import make_engine

    with pytest.raises(UsageError, match="engine profile upstream runs a command: give --engine-cmd"):
        make_engine(tmp_path / "root", profile="upstream")


def test_dataset_commands_are_spelled_by_the_profile() -> None:
    upstream, bundled = load_profile("upstream"), load_profile("bundled")
    assert upstream.argv("import", dataset="d", path="/f.parquet", format="parquet") == [
        "import", "d", "--from", "parquet", "--path", "/f.parquet"
    ]  # fmt: skip
    assert bundled.argv("import", dataset="d", path="/f.parquet", format="parquet")[:3] == [
        "import",
        "d",
        "/f.parquet",
    ]
    attach = bundled.argv("attach", dataset="d", path="/o.parquet", namespace="infer", key="id")
    assert attach == upstream.argv("attach", dataset="d", path="/o.parquet", namespace="infer", key="id")
    assert bundled.argv("namespace-register", namespace="n", columns="n__a:int64") == [
        "namespace", "register", "n", "--columns", "n__a:int64"
    ]  # fmt: skip
    mine = parse_profile({"commands": {"validate": ["check", "{dataset}"]}}, source="mine.toml")
    assert mine.argv("validate", dataset="d") == ["check", "d"] and mine.commands["attach"][0] == "attach"
    for wrong, message in (
        ({"verify": ["x"]}, "unknown settings"),
        ({"validate": "check {dataset}"}, "is a list of strings"),
        ({"validate": ["check", "{datasett}"]}, "unknown placeholder"),
    ):
        with pytest.raises(UsageError, match=message):
            parse_profile({"commands": wrong}, source="mine.toml")


def test_words_give_the_engines_own_word_and_keep_the_others() -> None:
    profile = parse_profile({"words": {"CHANGED": "CHANGES"}}, source="mine.toml")
    assert profile.word("CHANGED") == "CHANGES" and profile.word("NO-OP") == "NO-OP"
