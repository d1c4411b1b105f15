"""The pure parts of the benchmarks: statistics, targets, ratios, comparison, parsing. No timing."""

from __future__ import annotations

import json

import pytest

from benchmarks.bulk import BulkRuns
from benchmarks.figures import bulk_figures, rate, throughput
from benchmarks.measure import Run, Stats, peak_rss_kib
from benchmarks.references import RUNTIME_EXCLUDES, SshTarget, rsync_argv, sha256sum_digests
from benchmarks.results import load_figures, write_results
from benchmarks.table import Change, Figure, Target, compare, format_stats, format_value
from benchmarks.units import parse_size


def stats(*values: float) -> Stats:
    return Stats.of(values)


def test_stats_median_min_max_of_odd_and_even_runs():
    odd = stats(3.0, 1.0, 2.0, 10.0, 4.0)
    assert (odd.median, odd.min, odd.max) == (3.0, 1.0, 10.0)
    assert stats(1.0, 2.0, 3.0, 4.0).median == 2.5
    assert odd.runs == (3.0, 1.0, 2.0, 10.0, 4.0)


def test_stats_refuse_no_runs_and_survive_a_round_trip():
    with pytest.raises(ValueError):
        Stats.of([])
    original = stats(0.5, 0.7, 0.6)
    assert Stats.from_dict(json.loads(json.dumps(original.as_dict()))) == original


def test_time_target_judges_the_median_not_the_worst_run():
    target = Target("<=", 0.7)
    assert target.met(stats(0.6, 0.65, 2.0), None) is True
    assert target.met(stats(0.6, 0.75, 0.8), None) is False


def test_equality_target_needs_every_run_equal():
    one = Target("==", 1)
    assert one.met(stats(1, 1, 1), None) is True
    assert one.met(stats(1, 1, 2), None) is False
    assert one.met(stats(0, 1, 1), None) is False


def test_ratio_target_needs_a_reference():
    at_least_rsync = Target(">=", 1.0, on="ratio")
    assert at_least_rsync.met(stats(100), 1.2) is True
    assert at_least_rsync.met(stats(100), 0.4) is False
    assert at_least_rsync.met(stats(100), None) is None


def test_bad_target_is_refused():
    with pytest.raises(ValueError):
        Target("~", 1.0)
    with pytest.raises(ValueError):
        Target("<=", 1.0, on="reference")


def test_figure_ratio_is_ours_over_reference_medians():
    figure = Figure(
        "m.diff", "diff", "s", stats(1.0, 1.2, 1.4), stats(0.3, 0.4, 0.5), "rsync", Target("<=", 0.7)
    )
    assert figure.ratio == pytest.approx(3.0)
    assert figure.met is False
    assert Figure("x", "x", "s", stats(1.0)).ratio is None
    assert Figure("x", "x", "s", stats(1.0), stats(0.0)).ratio is None
    assert Figure("x", "x", "s", stats(1.0)).met is None


def test_throughput_figure_meets_a_ratio_target():
    figure = Figure(
        "bulk.pull", "pull", "MB/s", stats(210.0), stats(200.0), "rsync", Target(">=", 1.0, on="ratio"), True
    )
    assert figure.ratio == pytest.approx(1.05)
    assert figure.met is True


def test_throughput_and_rate_convert_per_run():
    runs = [Run(2.0, None, 1, ""), Run(4.0, None, 1, ""), Run(1.0, None, 1, "")]
    mb_per_s = throughput(runs, 400_000_000)
    assert mb_per_s.runs == (200.0, 100.0, 400.0)
    assert mb_per_s.median == 200.0
    assert rate(stats(0.5, 2.0), 1_000_000_000).runs == (2.0, 0.5)


def test_figure_round_trips_through_json(tmp_path):
    figures = [
        Figure("a", "first", "s", stats(1.0, 2.0, 3.0), stats(0.5, 0.5, 0.6), "rsync", Target("<=", 0.7)),
        Figure("b", "second", "MB/s", stats(100.0), None, "", Target(">=", 1.0, on="ratio"), True),
    ]
    path = write_results(tmp_path, figures, {"runtime_seconds": 1.0})
    assert path.parent == tmp_path and path.suffix == ".json"
    body = json.loads(path.read_text())
    assert body["figures"][0]["met"] is False and body["figures"][0]["ratio"] == pytest.approx(2.0 / 0.5)
    assert load_figures(path) == figures


def test_load_refuses_another_format_version(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"format_version": 99, "figures": []}))
    with pytest.raises(ValueError, match="format_version"):
        load_figures(path)


def test_compare_pairs_by_key_and_keeps_both_sides_orphans():
    old = [Figure("a", "a", "s", stats(2.0)), Figure("gone", "gone", "s", stats(1.0))]
    new = [Figure("a", "a", "s", stats(1.0)), Figure("new", "new", "s", stats(1.0))]
    changes = compare(old, new)
    assert [(c.key, c.old, c.new) for c in changes] == [
        ("a", 2.0, 1.0),
        ("new", None, 1.0),
        ("gone", 1.0, None),
    ]
    assert [c.verdict for c in changes] == ["better", "new", "gone"]


@pytest.mark.parametrize(
    ("old", "new", "higher_is_better", "verdict"),
    [
        (1.0, 1.2, False, "worse"),
        (1.0, 0.8, False, "better"),
        (100.0, 120.0, True, "better"),
        (100.0, 80.0, True, "worse"),
        (1.0, 1.04, False, "same"),
        (0.0, 1.0, False, "n/a"),
    ],
)
def test_change_verdict_follows_the_direction(old, new, higher_is_better, verdict):
    change = Change("k", "k", "s", old, new, higher_is_better)
    assert change.verdict == verdict


def test_change_relative():
    assert Change("k", "k", "s", 2.0, 3.0, False).relative == pytest.approx(0.5)
    assert Change("k", "k", "s", None, 3.0, False).relative is None


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.7342, "s", "0.734 s"),
        (12.34, "s", "12.3 s"),
        (215.4, "MB/s", "215 MB/s"),
        (1.874, "GB/s", "1.87 GB/s"),
    ],
)
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


def test_format_stats_and_connections():
    assert format_stats(stats(1.0, 1.5, 2.5), "s") == "1.50 s [1.00-2.50]"
    assert format_value(1, "conn") == "1"


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1GiB", 2**30),
        ("256MiB", 256 * 2**20),
        ("64MB", 64_000_000),
        ("1e9", 10**9),
        ("4096", 4096),
        ("2 kib", 2048),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "1TB", "0", "-5MB"])
def test_parse_size_refuses(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_peak_rss_parsed_from_gnu_time_report():
    report = (
        '\tCommand being timed: "usr pull"\n\tMaximum resident set size (kbytes): 266420\n\tExit status: 0\n'
    )
    assert peak_rss_kib(report) == 266420
    assert peak_rss_kib("nothing here") is None


def test_sha256sum_digests_in_input_order():
    output = "aa11  /x/records.parquet\nbb22  /x/meta.md\n"
    assert sha256sum_digests(output) == ["aa11", "bb22"]


def test_rsync_goes_through_strict_openssh_and_skips_runtime_files(tmp_path):
    target = SshTarget("127.0.0.1", 2222, "me", tmp_path / "key", tmp_path / "known_hosts")
    argv = rsync_argv(target, target.remote(tmp_path / "ds") + "/", "/local/ds/", checksum=True)
    assert argv[:3] == ["rsync", "-a", "--checksum"]
    ssh = argv[argv.index("-e") + 1]
    assert "-p 2222" in ssh and "StrictHostKeyChecking=yes" in ssh and f"UserKnownHostsFile={tmp_path}" in ssh
    assert all(f"--exclude={pattern}" in argv for pattern in RUNTIME_EXCLUDES)
    assert argv[-2:] == [f"me@127.0.0.1:{tmp_path / 'ds'}/", "/local/ds/"]


def test_rsync_can_take_the_engines_cipher_order(tmp_path):
    target = SshTarget("127.0.0.1", 2222, "me", tmp_path / "key", tmp_path / "known_hosts")
    plain = rsync_argv(target, "/a/", "/b/")
    same = rsync_argv(target, "/a/", "/b/", ssh_extra=["-o", "Ciphers=aes128-gcm@openssh.com"])
    assert "Ciphers=" not in plain[plain.index("-e") + 1]
    assert same[same.index("-e") + 1] == plain[plain.index("-e") + 1] + " -o Ciphers=aes128-gcm@openssh.com"


def test_bulk_figures_set_openssh_against_both_rsync_references():
    gib = 1 << 30
    bulk = BulkRuns()
    for key, seconds in {"usr.pull": 8, "usr.push": 8, "usr.openssh.pull": 4, "usr.openssh.push": 4}.items():
        bulk.runs[key].append(Run(seconds, None, 1, ""))
    for key, seconds in {"rsync": 5, "rsync_same_cipher": 4, "scp": 4}.items():
        for action in ("pull", "push"):
            bulk.runs[f"{key}.{action}"].append(Run(seconds, None, 1, ""))
    figures = {figure.key: figure for figure in bulk_figures(bulk, gib)}
    assert figures["bulk.pull_throughput_openssh"].ratio == pytest.approx(5 / 4)
    assert figures["bulk.push_same_cipher"].ratio == pytest.approx(1.0)
    assert figures["bulk.push_same_cipher"].target is None
    assert figures["bulk.pull_throughput"].ratio == pytest.approx(5 / 8)
