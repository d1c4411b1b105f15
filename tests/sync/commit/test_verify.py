"""The checks a pull's stage and a push's files must pass, on real datasets and real parquet."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.usr_sides import DATASET, make_dataset, records_table
from usr_harness.dataset.layout import EVENTS_FILE, RECORDS_FILE
from usr_harness.dataset.parquet_io import write_parquet
from usr_harness.errors import EventsError, SidecarsError, VerifyError
from usr_harness.report.fingerprint import fingerprint_tree
from usr_harness.sync.commit import verify
from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.inventory.scan import scan_dataset, sha256_file
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.plan.diff import diff_manifests

ALL_SECTIONS = ["events", "primary", "meta", "snapshots", "derived", "auxiliary"]


def manifest_of(folder: Path, side: str = "remote") -> Manifest:
    return Manifest.from_scan(side, scan_dataset(str(folder), hash_sections=ALL_SECTIONS, parquet=True))


def damage_first_page(path: Path) -> None:
    """One flipped byte inside the first column chunk: the size stays, the page checksum fails."""
    chunk = pq.read_metadata(path).row_group(0).column(0)
    data = bytearray(path.read_bytes())
    data[(chunk.dictionary_page_offset or chunk.data_page_offset) + chunk.total_compressed_size - 2] ^= 0xFF
    path.write_bytes(bytes(data))


class Staged:
    """A remote dataset, its manifest, and a stage holding a copy of its files (as a pull stages them)."""

    def __init__(self, tmp_path: Path) -> None:
        make_dataset(tmp_path / "remote")
        self.root = tmp_path
        self.remote = tmp_path / "remote" / DATASET
        self.local = tmp_path / "laptop" / DATASET
        self.stage = tmp_path / "stage"
        shutil.copytree(self.remote, self.stage, ignore=shutil.ignore_patterns(".usr-*"))
        self.source = manifest_of(self.remote)
        self.paths = sorted(path for path, entry in self.source.files.items() if entry.regular)

    def received(self) -> dict[str, tuple[int, str]]:
        return {
            path: ((self.stage / path).stat().st_size, sha256_file(str(self.stage / path)))
            for path in self.paths
            if (self.stage / path).is_file()
        }

    def failures(self) -> dict[str, BaseException]:
        """What the receiving pool reports: each file's `StagedChecks.check` exception."""
        checks = verify.StagedChecks(DATASET, self.local, str(self.stage), self.source)
        found: dict[str, BaseException] = {}
        for path in self.paths:
            try:
                checks.check(path)
            except Exception as error:
                found[path] = error
        return found

    def verify(self) -> None:
        verify.verify_staged(
            DATASET, self.local, str(self.stage), self.paths, self.source, self.received(), self.failures()
        )


@pytest.fixture
def staged(tmp_path: Path) -> Staged:
    return Staged(tmp_path)


def test_a_stage_that_matches_the_manifest_passes(staged: Staged):
    assert RECORDS_FILE in staged.paths and EVENTS_FILE in staged.paths
    assert any(staged.source.files[path].section == "derived" for path in staged.paths)
    staged.verify()


def refused(staged: Staged, family: type[Exception]) -> Exception:
    before = fingerprint_tree(staged.root).digest
    with pytest.raises(family) as caught:
        staged.verify()
    assert fingerprint_tree(staged.root).digest == before
    return caught.value


def test_a_changed_byte_in_the_primary_is_a_verify_error(staged: Staged):
    data = bytearray((staged.stage / RECORDS_FILE).read_bytes())
    data[4] ^= 0xFF
    (staged.stage / RECORDS_FILE).write_bytes(bytes(data))
    error = refused(staged, VerifyError)
    assert error.message == f"{DATASET}: staged files do not match the remote manifest: 'records.parquet'"
    assert error.paths == [RECORDS_FILE]


def test_a_sidecar_of_the_wrong_size_is_a_sidecars_error(staged: Staged):
    with open(staged.stage / "meta.md", "a") as handle:
        handle.write("more\n")
    error = refused(staged, SidecarsError)
    assert error.message == f"{DATASET}: staged files do not match the remote manifest: 'meta.md'"


def test_a_missing_staged_file_is_refused(staged: Staged):
    (staged.stage / "meta.md").unlink()
    error = refused(staged, SidecarsError)
    assert error.paths == ["meta.md"]


def test_a_primary_whose_pages_fail_their_checksums_is_a_verify_error(staged: Staged):
    for folder in (staged.remote, staged.stage):
        write_parquet(records_table(0, 200), folder / RECORDS_FILE)
        damage_first_page(folder / RECORDS_FILE)
    staged.source = manifest_of(staged.remote)
    error = refused(staged, VerifyError)
    assert error.message.startswith(f"{DATASET}: 'records.parquet' fails parquet checksum decoding: ")
    assert error.paths == [RECORDS_FILE]


def test_a_staged_log_that_does_not_extend_the_local_log_is_an_events_error(staged: Staged):
    staged.local.mkdir(parents=True)
    (staged.local / EVENTS_FILE).write_bytes(b"not the start of the remote log\n")
    error = refused(staged, EventsError)
    assert error.message == f"{DATASET}: local .events.log is not a prefix of remote .events.log"


def test_verify_parquet_names_the_damaged_file(tmp_path: Path):
    path = tmp_path / "records.parquet"
    write_parquet(records_table(0, 200), path)
    verify.verify_parquet(path, DATASET, RECORDS_FILE)
    damage_first_page(path)
    with pytest.raises(VerifyError, match=r"^demo: 'records.parquet' fails parquet checksum decoding: "):
        verify.verify_parquet(path, DATASET, RECORDS_FILE)


def test_verify_parquet_as_opens_with_the_name_it_is_given(tmp_path: Path):
    path = tmp_path / "staged.parquet"
    write_parquet(records_table(0, 200), path)
    verify.verify_parquet_as(path, "staged copy of remote /hpc/f.parquet", [str(path)])
    damage_first_page(path)
    with pytest.raises(
        VerifyError, match=r"^staged copy of remote /hpc/f.parquet fails parquet checksum"
    ) as raised:
        verify.verify_parquet_as(path, "staged copy of remote /hpc/f.parquet", [str(path)])
    assert raised.value.paths == [str(path)]


def test_post_verify_ignores_kept_additions_and_names_the_section_that_differs(tmp_path: Path):
    make_dataset(tmp_path / "remote")
    remote = manifest_of(tmp_path / "remote" / DATASET)
    opts = SyncOptions()
    assert not verify.post_diff(remote, remote, "pull", [], opts).changed
    (tmp_path / "remote" / DATASET / "notes.txt").write_text("kept\n")
    target = manifest_of(tmp_path / "remote" / DATASET, "local")
    assert diff_manifests(target, remote, opts).changed
    assert not verify.post_diff(target, remote, "pull", ["notes.txt"], opts).changed
    post = verify.post_diff(target, remote, "pull", [], opts)
    with pytest.raises(SidecarsError, match=r"^demo: post-pull-sidecars verification found differences"):
        verify.check_post(post, "pull", DATASET)


def test_a_local_log_that_breaks_the_rules_is_refused_before_a_push(tmp_path: Path):
    make_dataset(tmp_path)
    verify.check_local_log(tmp_path / DATASET, DATASET)
    with open(tmp_path / DATASET / EVENTS_FILE, "ab") as handle:
        handle.write(b"{not json\n")
    with pytest.raises(EventsError, match=r"local demo/\.events\.log"):
        verify.check_local_log(tmp_path / DATASET, DATASET)


def test_only_whole_file_parquet_is_checked_while_it_arrives(staged: Staged):
    arriving = verify.checked_while_arriving(staged.paths, staged.source)
    assert RECORDS_FILE in arriving
    assert all(staged.source.files[path].section != "derived" for path in arriving)
    assert EVENTS_FILE not in arriving
