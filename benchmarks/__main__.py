"""`python -m benchmarks`: build the datasets, start a loopback sshd, measure, print one table, save JSON.

python -m benchmarks                      # full run: medium loop, bulk 1 GiB, hashing, mock
python -m benchmarks --quick              # smoke run: small set, 3 repetitions, no bulk
python -m benchmarks --bulk-size 256MiB   # smaller bulk primary (or --skip-bulk)
python -m benchmarks --sections growth --growth-small   # the growth section alone, small sizes
python -m benchmarks --compare reports/bench/OLD.json
"""

from __future__ import annotations

import argparse
import compileall
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

import usr_harness
from benchmarks.bulk import measure_bulk
from benchmarks.datasets import MEDIUM, SMALL, BuiltDataset, bulk_spec, ensure_built
from benchmarks.figures import bulk_figures, connection_figure, local_figures, loop_figures, peer_figures
from benchmarks.growth import growth_figures, measure_growth
from benchmarks.growth import run_sets as run_sets_of
from benchmarks.growth_sets import growth_axes
from benchmarks.local import hashing, mock_generation
from benchmarks.loop import measure_loop
from benchmarks.measure import BenchError, Run
from benchmarks.peer import PEER_ENV, measure_peer, peer_command
from benchmarks.results import command_details, environment, load_figures, write_results
from benchmarks.table import Figure, compare, render_changes, render_figures
from benchmarks.units import parse_size
from benchmarks.workspace import Workspace
from usr_harness.hosts.loopback import LoopbackSshd

DEFAULT_OUT = Path("reports/bench")
SECTIONS = ("loop", "bulk", "growth", "local")
"""loop: the everyday loop; bulk: bulk throughput; growth: no-op cost as bytes and files grow;
local: mock generation and hashing."""
TABLE_WIDTH = 160


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smoke run: small set only, fewer repetitions.")
    parser.add_argument("--repeats", type=int, default=None, help="Runs per figure (default 5, quick 3).")
    parser.add_argument("--bulk-size", type=parse_size, default=parse_size("1GiB"), help="Bulk primary size.")
    parser.add_argument("--skip-bulk", action="store_true", help="Leave the bulk set out.")
    parser.add_argument(
        "--sections",
        type=_sections,
        default=SECTIONS,
        help=f"Comma-separated sections to run (default all): {','.join(SECTIONS)}.",
    )
    parser.add_argument(
        "--growth-small",
        action="store_true",
        help="Growth section at small sizes (64/256 MiB, 20-1,000 parts); --quick implies it.",
    )
    parser.add_argument(
        "--peer",
        type=Path,
        default=None,
        help=f"Another engine's `usr` (else ${PEER_ENV}): runs the loop's diff, no-op pull and push and "
        "push of one part beside ours (its `upstream` engine profile).",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Where results and the cache go.")
    parser.add_argument("--compare", type=Path, default=None, help="Print the change against this run.")
    parser.add_argument(
        "--against",
        type=Path,
        default=None,
        help="With --compare: compare to this saved run, measure nothing.",
    )
    return parser


def _sections(text: str) -> tuple[str, ...]:
    chosen = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"sections are {', '.join(SECTIONS)}; not {', '.join(unknown)}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    console = Console(width=max(Console().width, TABLE_WIDTH))
    if options.against is not None:
        if options.compare is None:
            raise SystemExit("--against needs --compare OLD.json")
        render_changes(
            compare(load_figures(options.compare), load_figures(options.against)), console, "change"
        )
        return 0
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat()
    env_before = environment()
    try:
        figures, datasets, commands = _measure(options, _Progress(started))
    except BenchError as error:
        console.print(f"[red]benchmark failed:[/red] {error}")
        return 1
    runtime = time.monotonic() - started
    render_figures(
        figures, console, f"usr benchmarks ({'quick' if options.quick else 'full'}, {runtime:.0f} s)"
    )
    context = {
        "started_at": started_at,
        "runtime_seconds": runtime,
        "options": {
            "quick": options.quick,
            "repeats": _repeats(options),
            "bulk_size": None if _skip_bulk(options) else options.bulk_size,
            "sections": list(options.sections),
            "growth_small": _growth_small(options),
        },
        "environment": env_before,
        "load_average_after": list(os.getloadavg()),
        "datasets": [built.as_dict() for built in datasets],
        "commands": commands,
    }
    path = write_results(options.out, figures, context)
    console.print(f"results: {path}")
    if options.compare is not None:
        render_changes(
            compare(load_figures(options.compare), figures), console, f"change since {options.compare}"
        )
    return 0


def _repeats(options: argparse.Namespace) -> int:
    return options.repeats or (3 if options.quick else 5)


def _skip_bulk(options: argparse.Namespace) -> bool:
    return options.quick or options.skip_bulk or "bulk" not in options.sections


def _growth_small(options: argparse.Namespace) -> bool:
    return options.quick or options.growth_small


class _Progress:
    """One line per step on stderr, so a five-minute run shows where it is."""

    def __init__(self, started: float) -> None:
        self.started = started

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {message}", file=sys.stderr, flush=True)


def compile_usr_bytecode() -> None:
    """A user's `usr` runs from the bytecode its first run (or pip) wrote. Under
    PYTHONDONTWRITEBYTECODE, or in a checkout whose sources just changed, every timed command would
    compile the changed modules again: with 41 modules stale, no-op pulls measured 0.23-0.25 s where
    fresh bytecode gave 0.20 s in the same session."""
    compileall.compile_dir(Path(usr_harness.__file__).parent, quiet=1)


def _measure(
    options: argparse.Namespace, progress: _Progress
) -> tuple[list[Figure], list[BuiltDataset], dict[str, dict[str, list]]]:
    """Figures, the datasets they were measured on, and every command's raw numbers."""
    repeats = _repeats(options)
    compile_usr_bytecode()
    peer = peer_command(options.peer) if "loop" in options.sections else None
    cache = options.out / "cache"
    loop_sets = (
        [ensure_built(SMALL if options.quick else MEDIUM, cache)] if "loop" in options.sections else []
    )
    for built in loop_sets:
        progress(f"dataset {built.spec.name}: {built.size_bytes / 1e6:.1f} MB ready")
    axes = growth_axes(_growth_small(options)) if "growth" in options.sections else ()
    growth_specs = [spec for axis in axes for _, spec in axis.steps]
    growth_built = {spec: ensure_built(spec, cache) for spec in growth_specs}
    if growth_built:
        progress(f"growth: {len(growth_built)} datasets ready")
    bulk = None
    if not _skip_bulk(options):
        bulk = ensure_built(bulk_spec(options.bulk_size), cache)
        progress(f"dataset bulk: {bulk.size_bytes / 1e6:.1f} MB ready")
    figures: list[Figure] = []
    run_sets: dict[str, dict[str, list[Run]]] = {}
    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="work-", dir=options.out) as scratch:
        work = Path(scratch)
        with LoopbackSshd(work / "sshd") as sshd:
            ws = Workspace(work, sshd)
            for built in loop_sets:
                progress(f"{built.spec.name}: everyday loop, {repeats} runs per figure")
                run_sets[built.spec.name] = measure_loop(ws, built, repeats)
                figures += loop_figures(built.spec.name, run_sets[built.spec.name])
                if peer is not None:
                    progress(f"{built.spec.name}: the same steps by the peer engine {peer}")
                    run_sets[built.spec.name].update(measure_peer(ws, built, repeats, peer))
                    figures += peer_figures(built.spec.name, run_sets[built.spec.name])
            if bulk is not None:
                progress(f"bulk: pull and push, {repeats} runs each")
                bulk_runs = measure_bulk(ws, bulk, repeats)
                run_sets["bulk"] = bulk_runs.runs
                figures += bulk_figures(bulk_runs, bulk.size_bytes)
            if axes:
                measured = measure_growth(ws, axes, growth_built, repeats, progress)
                figures += growth_figures(axes, measured)
                run_sets.update(run_sets_of(axes, measured))
            if run_sets:
                figures.append(connection_figure(run_sets.values()))
            if "local" not in options.sections:
                return figures, _built_sets(loop_sets, bulk, growth_built), command_details(run_sets)
            local_repeats = 1 if options.quick else 3
            progress("mock generation")
            mock_folder = work / "mock"
            mock_folder.mkdir()
            mock = mock_generation(mock_folder, local_repeats)
            hashed, where = (bulk.path, "bulk") if bulk else (mock_folder, "mock 1M records")
            progress(f"hashing over {where}")
            figures += local_figures(mock, hashing(hashed, ws.runner, local_repeats), where)
    return figures, _built_sets(loop_sets, bulk, growth_built), command_details(run_sets)


def _built_sets(loop_sets: list[BuiltDataset], bulk: BuiltDataset | None, growth: dict) -> list[BuiltDataset]:
    return [*loop_sets, *([bulk] if bulk else []), *dict.fromkeys(growth.values())]


if __name__ == "__main__":
    sys.exit(main())
