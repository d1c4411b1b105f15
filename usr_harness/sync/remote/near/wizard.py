"""`usr remotes wizard`: write or update one profile in a remotes file, leaving the rest as written.

Operators annotate their remotes files, so the file is never re-dumped: the
YAML is composed (not loaded) to find where each value sits, and only the
named profile's values are replaced or appended. The result must load as a
valid profiles file before it replaces the original (atomically, mode 0600).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from usr_harness.errors import ConfigError, UsageError
from usr_harness.sync.remote.near.profiles import ENV_VAR, load_profiles, yaml_problem

FILE_MODE = 0o600
_DEFAULT_STEP = 2


@dataclass(frozen=True)
class Preset:
    """A cluster the wizard knows: its login host and its data-transfer host."""

    login_host: str
    transfer_host: str


#: `--preset NAME`, as the upstream runbooks name them.
PRESETS = {"bu-scc": Preset(login_host="scc1.bu.edu", transfer_host="scc-globus.bu.edu")}


def preset_host(preset: str | None, *, transfer_node: bool) -> str | None:
    """The host a preset stands for (None without a preset); an unknown preset is a usage error."""
    if preset is None:
        if transfer_node:
            raise UsageError("--transfer-node needs --preset (which cluster's transfer host?)")
        return None
    chosen = PRESETS.get(preset.strip().lower())
    if chosen is None:
        raise UsageError(f"unknown --preset {preset!r}; known presets: {', '.join(sorted(PRESETS))}")
    return chosen.transfer_host if transfer_node else chosen.login_host


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class WizardResult:
    path: Path
    action: str  # created | added | updated
    keys: tuple[str, ...]


def choose_remotes_file(explicit: Path | None, configured: Path | None) -> Path:
    """`--file`, else `--remotes-config`, else $USR_REMOTES_PATH: there is no default file to guess."""
    chosen = explicit or configured or (Path(os.environ[ENV_VAR]) if os.environ.get(ENV_VAR) else None)
    if chosen is None:
        raise ConfigError(
            f"no remote profiles file chosen: pass --file FILE, --remotes-config FILE or set {ENV_VAR}"
        )
    return chosen.expanduser()


def existing_settings(path: Path, name: str) -> dict[str, Any] | None:
    """The settings profile `name` has in `path` now, or None when the file or the profile is absent."""
    if not path.is_file():
        return None
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(yaml_problem(path, error), paths=[str(path)]) from error
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}", paths=[str(path)]) from error
    remotes = document.get("remotes") if isinstance(document, dict) else None
    entry = remotes.get(name) if isinstance(remotes, dict) else None
    return entry if isinstance(entry, dict) else None


def write_profile(path: Path, name: str, settings: dict[str, Any]) -> WizardResult:
    """Set `settings` on profile `name` in `path` (created if absent); every other line stays."""
    target = path.resolve() if path.is_symlink() else path
    existed = target.is_file()
    try:
        text = target.read_text(encoding="utf-8") if existed else ""
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{target}: cannot read: {error}", paths=[str(target)]) from error
    updated, added = upsert_profile(text, name, settings, source=str(target))
    _replace_validated(target, updated)
    action = "updated" if not added else ("added" if existed else "created")
    return WizardResult(target, action, tuple(settings))


def upsert_profile(
    text: str, name: str, settings: dict[str, Any], source: str = "<text>"
) -> tuple[str, bool]:
    """`text` with profile `name` holding `settings`, and whether the profile is new.

    Comments, blank lines, key order and every other profile are kept byte for byte.
    """
    if text and not text.endswith("\n"):
        text += "\n"
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: invalid YAML: {error}", paths=[source]) from error
    if root is None:
        return text + "remotes:\n" + _entry_block(name, settings, _DEFAULT_STEP, _DEFAULT_STEP), True
    remotes_key, remotes = _remotes_node(root, source)
    if _is_empty(remotes):
        block = _entry_block(name, settings, _DEFAULT_STEP, _DEFAULT_STEP)
        return _apply(text, _open_block(text, remotes_key, remotes, block)), True
    if not isinstance(remotes, yaml.MappingNode) or remotes.flow_style:
        raise ConfigError(
            f"{source}: `remotes` must be a block mapping (one `name:` per line) for the wizard to edit it",
            paths=[source],
        )
    indent, step = _layout(remotes)
    for key_node, value in remotes.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == name:
            return _apply(text, _update_entry(text, key_node, value, settings, indent + step)), False
    position = _line_end(text, _last_index(remotes))
    return _apply(text, [_Edit(position, position, _entry_block(name, settings, indent, step))]), True


def _remotes_node(root: yaml.Node, source: str) -> tuple[yaml.ScalarNode, yaml.Node]:
    if isinstance(root, yaml.MappingNode) and not root.flow_style:
        for key_node, value in root.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == "remotes":
                return key_node, value
    raise ConfigError(f"{source}: expected a mapping with a `remotes:` key", paths=[source])


def _is_empty(node: yaml.Node) -> bool:
    return (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")) or (
        isinstance(node, yaml.MappingNode) and not node.value
    )


def _layout(remotes: yaml.MappingNode) -> tuple[int, int]:
    """The column of profile names and the extra indent of their settings, as the file already uses."""
    indent = remotes.value[0][0].start_mark.column
    for _, value in remotes.value:
        if isinstance(value, yaml.MappingNode) and not value.flow_style and value.value:
            return indent, value.value[0][0].start_mark.column - indent
    return indent, _DEFAULT_STEP


def _update_entry(
    text: str, key_node: yaml.ScalarNode, value: yaml.Node, settings: dict[str, Any], column: int
) -> list[_Edit]:
    if not isinstance(value, yaml.MappingNode) or value.flow_style:
        written = yaml.safe_load(text[value.start_mark.index : value.end_mark.index])
        merged = {**(written if isinstance(written, dict) else {}), **settings}
        return _open_block(text, key_node, value, _settings_block(merged, column))
    edits = []
    present = {setting.value: current for setting, current in value.value}
    for key, new in settings.items():
        current = present.get(key)
        if current is None:
            continue
        start, end = current.start_mark.index, current.end_mark.index
        edits.append(_Edit(start, end, (" " if start == end else "") + _scalar(new)))
    missing = {key: new for key, new in settings.items() if key not in present}
    if missing:
        position = _line_end(text, _last_index(value))
        edits.append(_Edit(position, position, _settings_block(missing, column)))
    return edits


def _open_block(text: str, key_node: yaml.Node, value: yaml.Node, block: str) -> list[_Edit]:
    """Turn `key: <empty or flow value>` into `key:` followed by `block` on the next lines."""
    after = _line_end(text, value.end_mark.index)
    return [_Edit(key_node.end_mark.index, value.end_mark.index, ":"), _Edit(after, after, block)]


def _entry_block(name: str, settings: dict[str, Any], indent: int, step: int) -> str:
    return " " * indent + _scalar(name) + ":\n" + _settings_block(settings, indent + step)


def _settings_block(settings: dict[str, Any], column: int) -> str:
    return "".join(f"{' ' * column}{key}: {_scalar(value)}\n" for key, value in settings.items())


def _scalar(value: Any) -> str:
    """One YAML scalar, quoted only when needed (so `yes` or `0700` stay strings)."""
    return yaml.safe_dump([value], default_flow_style=True, width=1 << 20).strip()[1:-1]


def _last_index(node: yaml.Node) -> int:
    """Where the node's last value ends: mappings end at their last value, not at the next token."""
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        return _last_index(last[1] if isinstance(last, tuple) else last)
    return node.end_mark.index


def _line_end(text: str, index: int) -> int:
    """The index just past the newline that ends the line holding `index`."""
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def _apply(text: str, edits: list[_Edit]) -> str:
    for edit in sorted(edits, key=lambda item: item.start, reverse=True):
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text


def _replace_validated(target: Path, text: str) -> None:
    """Write beside the target, prove it loads, then rename over it: never a half-written or invalid file."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.wizard-tmp")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            load_profiles(staging)
        except ConfigError as error:
            reason = error.message.replace(str(staging), str(target))
            raise ConfigError(
                f"not written: the result would be invalid: {reason}", paths=[str(target)]
            ) from None
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
