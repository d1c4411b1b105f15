"""Sync flags and their conflicts, checked before any network call."""

from __future__ import annotations

from dataclasses import dataclass

from usr_harness.errors import UsageError

VERIFY_MODES = ("hash", "auto", "size", "parquet")


@dataclass(frozen=True)
class SyncOptions:
    verify: str = "hash"
    verify_sidecars: bool = True
    verify_derived_hashes: bool | None = None
    primary_only: bool = False
    skip_snapshots: bool = False
    dry_run: bool = False
    yes: bool = False
    force: bool = False
    lock_timeout: float = 30.0
    strict_bootstrap_id: bool = False
    rehash: bool = False
    """Read every byte again: neither side's persisted hash cache is trusted for this command."""

    @property
    def content_hashes(self) -> bool:
        if self.verify_derived_hashes is None:
            return self.verify_sidecars
        return self.verify_derived_hashes

    def check(self, action: str) -> SyncOptions:
        if self.verify not in VERIFY_MODES:
            raise UsageError(f"--verify must be one of {', '.join(VERIFY_MODES)}, not {self.verify!r}")
        if self.verify_derived_hashes and not self.verify_sidecars:
            raise UsageError("--verify-derived-hashes needs sidecar verification; drop --no-verify-sidecars")
        for flag, on in (("--primary-only", self.primary_only), ("--skip-snapshots", self.skip_snapshots)):
            if on and self.verify_sidecars:
                raise UsageError(f"{flag} needs --no-verify-sidecars (it reduces sidecar fidelity)")
        if self.strict_bootstrap_id and action != "pull":
            raise UsageError("--strict-bootstrap-id applies to pull only")
        if self.lock_timeout < 0:
            raise UsageError("--lock-timeout must be >= 0 seconds")
        return self

    def included_sections(self) -> tuple[str, ...]:
        if self.primary_only:
            return ("primary",)
        sections = ["primary", "meta", "events", "snapshots", "derived", "auxiliary"]
        if self.skip_snapshots:
            sections.remove("snapshots")
        return tuple(sections)

    def compare_mode(self, section: str) -> str:
        """How files of `section` are compared: the primary by --verify, sidecars by hash or size."""
        if section == "primary":
            return self.verify
        if section in ("derived", "auxiliary"):
            return "hash" if self.content_hashes else "size"
        return "hash" if self.verify_sidecars else "size"

    def verify_block(self) -> dict[str, str]:
        return {
            "primary": self.verify,
            "sidecars": "strict" if self.verify_sidecars else "off",
            "content_hashes": "on" if self.content_hashes else "off",
        }
