"""Engine profiles: what a drill must know to drive an engine and to read what it says, as data.

A profile is a TOML or YAML file (the built-in ones live in `profiles/`), so a
maintainer can describe another `usr`-compatible engine without writing code.
It says how a remote is expressed to the engine, how its outcome is read (exit
codes, message tokens, where the audit is) and which capabilities it has; a
drill that needs a capability the engine lacks reports `unknown`, never pass
and never fail.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from usr_harness.errors import UsageError

BUILTIN_DIR = Path(__file__).with_name("profiles")
DEFAULT_PROFILE = "bundled"
REMOTE_STYLES = ("usr-harness", "ssh-alias")
RUNNERS = ("in-process", "command")
DOCTOR_STYLES = ("positional", "option")

#: Every capability a drill may ask for, with the words an `unknown` verdict uses when it is missing.
CAPABILITIES: dict[str, str] = {
    "force": "--force to override a divergence",
    "lock-timeout": "--lock-timeout SECONDS",
    "audit-on-failure": "an audit JSON written when a command fails",
    "audit-error": "an `error` record (family, message, paths) in the audit",
    "audit-post": "a `post` re-diff in the audit",
    "fault-points": "named fault points the harness arms through USR_SYNC_HOOKS and USR_HARNESS_FAULT_POINT",
    "family-exit-codes": "one exit code per error family",
    "file-mode": "file mode (a single file as the target)",
    "remote-path": "--remote-path",
    "dataset-dir-target": "a dataset folder given as the target",
    "redacted-audit": "secrets redacted from audits and output",
    "harness-dataset-layer": "usr-harness's dataset layer behind it (the case calls that layer directly)",
    "events-merge": "`usr events merge DATASET REMOTE` for event logs that branched",
}


#: Dataset commands a drill drives besides diff/pull/push, as argv templates; a profile may respell them.
DEFAULT_COMMANDS: dict[str, tuple[str, ...]] = {
    "attach": ("attach", "{dataset}", "--path", "{path}", "--namespace", "{namespace}", "--key", "{key}"),
    "import": ("import", "{dataset}", "{path}", "--format", "{format}"),
    "validate": ("validate", "{dataset}"),
    "namespace-register": ("namespace", "register", "{namespace}", "--columns", "{columns}"),
}
PLACEHOLDERS = ("dataset", "path", "namespace", "key", "format", "columns")
IMPORT_FORMATS = ("parquet", "jsonl", "csv")


@dataclass(frozen=True)
class OutcomeRules:
    """How an engine's failure is read back into one of the contract's error families."""

    family_marker: str | None = None
    exit_families: dict[int, str] = field(default_factory=dict)
    message_tokens: tuple[tuple[str, str], ...] = ()
    fallback_family: str = "unknown"

    def family(self, exit_code: int, audit: dict | None, text: str) -> str | None:
        """The family of a failed command: the audit's own word first, then marker, tokens, code."""
        if exit_code == 0:
            return None
        error = (audit or {}).get("data", {}).get("error")
        if isinstance(error, dict) and error.get("family"):
            return str(error["family"])
        if self.family_marker:
            match = re.search(self.family_marker, text)
            if match:
                return match.group(1)
        lowered = text.lower()
        for token, family in self.message_tokens:
            if token.lower() in lowered:
                return family
        return self.exit_families.get(exit_code, self.fallback_family)


@dataclass(frozen=True)
class EngineProfile:
    """One engine as the drills see it; `source` names the file it was read from."""

    name: str
    summary: str
    runner: str
    command: str | None
    remote_style: str
    doctor_style: str
    capabilities: frozenset[str]
    outcome: OutcomeRules
    source: str
    global_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    commands: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_COMMANDS))
    import_format: str = "parquet"
    """The records file format a drill hands `import` (an engine may read only text formats)."""
    words: dict[str, str] = field(default_factory=dict)
    """The engine's own word for a word a drill looks for in its output (upstream's diff says
    `CHANGES` where this contract's says `CHANGED`)."""

    def word(self, token: str) -> str:
        return self.words.get(token, token)

    def argv(self, command: str, **values: str) -> list[str]:
        """The engine's own words for `command` (attach, import, validate, namespace-register)."""
        return [part.format(**values) for part in self.commands[command]]

    def has(self, capability: str) -> bool:
        if capability not in CAPABILITIES:
            raise ValueError(f"unknown capability {capability!r}; known: {', '.join(CAPABILITIES)}")
        return capability in self.capabilities

    def missing(self, *capabilities: str) -> str | None:
        """The reason a drill cannot judge this engine, or None when it has everything asked for."""
        lacking = [name for name in capabilities if not self.has(name)]
        if not lacking:
            return None
        return f"engine {self.name} has no " + "; no ".join(CAPABILITIES[name] for name in lacking)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "runner": self.runner,
            "remote_style": self.remote_style,
            "capabilities": sorted(self.capabilities),
        }


def builtin_profiles() -> tuple[str, ...]:
    return tuple(sorted(path.stem for path in BUILTIN_DIR.glob("*.toml")))


def load_profile(name_or_path: str | Path | None) -> EngineProfile:
    """A built-in profile by name, or a user's profile file (.toml, .yaml, .yml) by path."""
    given = str(name_or_path or DEFAULT_PROFILE)
    path = Path(given)
    if path.suffix not in (".toml", ".yaml", ".yml"):
        path = BUILTIN_DIR / f"{given}.toml"
        if not path.is_file():
            raise UsageError(
                f"no engine profile {given!r}: built-in ones are {', '.join(builtin_profiles())}, "
                "or give the path of a .toml/.yaml profile file"
            )
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except FileNotFoundError:
        raise UsageError(f"engine profile file {str(path)!r} does not exist", paths=[str(path)]) from None
    except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise UsageError(f"engine profile {str(path)!r} is not valid: {error}", paths=[str(path)]) from None
    return parse_profile(data, source=str(path))


def parse_profile(data: Any, *, source: str) -> EngineProfile:
    """Check every field, so a typo in a user's profile is a named error, not a silently weaker drill."""
    if not isinstance(data, dict):
        raise UsageError(f"engine profile {source!r} must be a table of settings")
    known = {
        "name",
        "summary",
        "runner",
        "command",
        "remote_style",
        "doctor_style",
        "capabilities",
        "outcome",
        "global_args",
        "env",
        "commands",
        "import_format",
        "words",
    }
    _no_unknown(data, known, source)
    capabilities = frozenset(data.get("capabilities", []))
    unknown = sorted(capabilities - set(CAPABILITIES))
    if unknown:
        raise UsageError(
            f"engine profile {source!r}: unknown capabilities {unknown}; known: {', '.join(CAPABILITIES)}"
        )
    outcome = data.get("outcome", {})
    _no_unknown(outcome, {"family_marker", "exit_families", "message_tokens", "fallback_family"}, source)
    tokens = outcome.get("message_tokens", [])
    if not all(isinstance(item, (list, tuple)) and len(item) == 2 for item in tokens):
        raise UsageError(f"engine profile {source!r}: message_tokens are [token, family] pairs")
    return EngineProfile(
        name=str(data.get("name") or Path(source).stem),
        summary=str(data.get("summary", "")),
        runner=_choice(data, "runner", RUNNERS, "command", source),
        command=data.get("command"),
        remote_style=_choice(data, "remote_style", REMOTE_STYLES, "usr-harness", source),
        doctor_style=_choice(data, "doctor_style", DOCTOR_STYLES, "positional", source),
        capabilities=capabilities,
        outcome=OutcomeRules(
            family_marker=outcome.get("family_marker"),
            exit_families={
                int(code): str(family) for code, family in outcome.get("exit_families", {}).items()
            },
            message_tokens=tuple((str(token), str(family)) for token, family in tokens),
            fallback_family=str(outcome.get("fallback_family", "unknown")),
        ),
        source=source,
        global_args=tuple(str(arg) for arg in data.get("global_args", [])),
        env={str(key): str(value) for key, value in data.get("env", {}).items()},
        commands=_commands(data.get("commands", {}), source),
        import_format=_choice(data, "import_format", IMPORT_FORMATS, "parquet", source),
        words=_words(data.get("words", {}), source),
    )


def _words(given: Any, source: str) -> dict[str, str]:
    if not isinstance(given, dict) or not all(
        isinstance(key, str) and isinstance(value, str) and value for key, value in given.items()
    ):
        raise UsageError(f'engine profile {source!r}: words is a table of word = "the engine\'s word"')
    return dict(given)


def _commands(given: Any, source: str) -> dict[str, tuple[str, ...]]:
    """The default templates with the profile's respellings; an unknown command or placeholder is named."""
    if not isinstance(given, dict):
        raise UsageError(f"engine profile {source!r}: commands is a table of argv templates")
    _no_unknown(given, set(DEFAULT_COMMANDS), source)
    commands = dict(DEFAULT_COMMANDS)
    for name, template in given.items():
        if not isinstance(template, list) or not all(isinstance(part, str) for part in template):
            raise UsageError(f"engine profile {source!r}: commands.{name} is a list of strings")
        try:
            [part.format(**{key: "" for key in PLACEHOLDERS}) for part in template]
        except (KeyError, IndexError, ValueError) as error:
            raise UsageError(
                f"engine profile {source!r}: commands.{name} has an unknown placeholder {error}; "
                f"known: {', '.join('{' + key + '}' for key in PLACEHOLDERS)}"
            ) from None
        commands[name] = tuple(template)
    return commands


def _choice(data: dict, key: str, allowed: tuple[str, ...], default: str, source: str) -> str:
    value = str(data.get(key, default))
    if value not in allowed:
        raise UsageError(f"engine profile {source!r}: {key} is {value!r}, one of {', '.join(allowed)}")
    return value


def _no_unknown(data: dict, known: set[str], source: str) -> None:
    extra = sorted(set(data) - known)
    if extra:
        raise UsageError(f"engine profile {source!r}: unknown settings {extra}; known: {sorted(known)}")
