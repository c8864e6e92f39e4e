"""Benchmark 4: drafting 1,000 notices, and how fast the CLI starts.

- Render and write 1,000 notices as .eml (tests/bench/bench_notices.py's measurement), and place
  1,000 drafts in Microsoft 365 through the Graph connector against the simulator (no latency).
- Wall time of `relevo --help` and `relevo audit` (median of 7 runs each, new processes, after one
  unmeasured run), with `import prefect` alone for reference: commands that run no flow must not import
  Prefect (checked with `python -X importtime`).
- Wall time of a rerun of `relevo offboard 1001` on the example company without PREFECT_API_URL (the
  CLI then runs the flow's function without a Prefect server; goal <= 3 s), median of 5 after a first run,
  with the CPU time it used (on a shared machine the wall time includes waiting for a core).

    python -m tests.bench.bench_startup
"""

from __future__ import annotations

import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

from relevo.connectors.graph_drafts import GraphDrafts
from relevo.model import Draft
from tests.bench.bench_notices import draft_time
from tests.bench.support import BIN, ROOT, machine, table
from tests.sim import Simulator, all_vendors

RUNS = 7


def timed(command: list[str], cwd: Path) -> float:
    subprocess.run(
        command, cwd=cwd, capture_output=True, timeout=120
    )  # unmeasured: it also warms the file cache
    values = []
    for _ in range(RUNS):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
        values.append(time.perf_counter() - started)
        assert done.returncode == 0, done.stderr[-500:]
    return statistics.median(values)


def rerun_without_server(cwd: Path, runs: int = 5) -> tuple[float, float]:
    """(median wall s, median CPU s) of `relevo offboard 1001` reruns with no PREFECT_API_URL."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    command = [str(BIN / "relevo"), "offboard", "1001", "--registry", "relevo.yaml"]
    first = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 3, first.stdout[-500:] + first.stderr[-500:]  # tasks for a person are left
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr[-500:]
    return statistics.median(walls), statistics.median(cpus)


def imports_prefect(command: list[str], cwd: Path) -> bool:
    """Whether the command imports Prefect (the modules `python -X importtime` lists)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *command], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    return any(line.rpartition("|")[2].strip() == "prefect" for line in done.stderr.splitlines())


def graph_drafts(count: int = 1000) -> float:
    with Simulator(all_vendors()) as sim:
        store = GraphDrafts("token", sim.url("graph") + "/v1.0")
        drafts = [
            Draft(
                key=f"9001:notice:C{i:04d}:c{i}@client.example",
                mailbox="successor@acme.example",
                sender_name="Successor",
                to_name=f"Contact {i}",
                to_email=f"c{i}@client.example",
                subject=f"Cambio de interlocutor {i}",
                text="Hola",
                html="<p>Hola</p>",
                language="es",
            )
            for i in range(count)
        ]
        started = time.perf_counter()
        for draft in drafts:
            store.place(draft)
        elapsed = time.perf_counter() - started
        assert len(sim.vendors["graph"].mailboxes["successor@acme.example"]) == count
    return elapsed


def main() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        started = time.perf_counter()
        draft_time(1000)
        eml_total = time.perf_counter() - started
    eml_lines = [line.strip() for line in out.getvalue().splitlines() if line.strip()]
    graph = graph_drafts()
    with tempfile.TemporaryDirectory() as tmp:
        company = Path(tmp) / "acme"
        shutil.copytree(ROOT / "examples" / "acme", company)  # with its recorded out/ (a ledger to print)
        relevo = str(BIN / "relevo")
        help_s = timed([relevo, "--help"], company)
        audit_s = timed([relevo, "audit", "--registry", "relevo.yaml"], company)
        for command in (["--help"], ["audit", "--registry", "relevo.yaml"]):
            assert not imports_prefect([relevo, *command], company), f"relevo {command[0]} imports Prefect"
        prefect_s = timed([sys.executable, "-c", "import prefect"], company)
        shutil.rmtree(company / "out", ignore_errors=True)
        rerun_s, rerun_cpu = rerun_without_server(company)
    print(
        table(
            f"Drafting and start-up ({machine()})",
            [
                (
                    "1,000 notices rendered + written as .eml",
                    f"{eml_total:.2f} s in all (goal <= 2 s): " + "; ".join(eml_lines[1:]),
                ),
                (
                    "1,000 drafts placed via Graph (simulator)",
                    f"{graph:.2f} s ({graph:.2f} ms each: key check + create)",
                ),
                ("relevo --help", f"{help_s:.2f} s median of {RUNS} (goal <= 0.3 s)"),
                ("relevo audit", f"{audit_s:.2f} s median of {RUNS} (goal <= 0.5 s)"),
                ("python -c 'import prefect' (reference)", f"{prefect_s:.2f} s median of {RUNS}"),
                (
                    "relevo offboard 1001 rerun, no PREFECT_API_URL",
                    f"{rerun_s:.2f} s median of 5 (goal <= 3 s); {rerun_cpu:.2f} s CPU",
                ),
            ],
        )
    )


if __name__ == "__main__":
    main()
