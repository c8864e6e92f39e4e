"""Benchmark 4: drafting 1,000 notices, and how fast the CLI starts.

- Render and write 1,000 notices as .eml (tests/bench/bench_notices.py's measurement), and place
  1,000 drafts in Microsoft 365 through the Graph connector against the simulator (no latency).
- Wall time of `relevo --help` and `relevo audit` (median of 7 runs each, new processes, after one
  unmeasured run), with `import prefect` alone for reference: commands that run no flow must not import
  Prefect (checked with `python -X importtime`).

    python -m tests.bench.bench_startup
"""
from __future__ import annotations

import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

from connectors.drafts import Draft
from connectors.graph_drafts import GraphDrafts
from tests.bench.bench_notices import draft_time
from tests.bench.support import BIN, ROOT, machine, table
from tests.sim import Simulator, all_vendors

RUNS = 7


def timed(command: list[str], cwd: Path) -> float:
    subprocess.run(command, cwd=cwd, capture_output=True, timeout=120)  # unmeasured: it also warms the file cache
    values = []
    for _ in range(RUNS):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
        values.append(time.perf_counter() - started)
        assert done.returncode == 0, done.stderr[-500:]
    return statistics.median(values)


def imports_prefect(command: list[str], cwd: Path) -> bool:
    """Whether the command imports Prefect (the modules `python -X importtime` lists)."""
    done = subprocess.run([sys.executable, "-X", "importtime", *command], cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    return any(line.rpartition("|")[2].strip() == "prefect" for line in done.stderr.splitlines())


def graph_drafts(count: int = 1000) -> float:
    with Simulator(all_vendors()) as sim:
        store = GraphDrafts("token", sim.url("graph") + "/v1.0")
        drafts = [Draft(key=f"9001:notice:C{i:04d}:c{i}@client.example", mailbox="successor@acme.example",
                        sender_name="Successor", to_name=f"Contact {i}", to_email=f"c{i}@client.example",
                        subject=f"Cambio de interlocutor {i}", text="Hola", html="<p>Hola</p>", language="es")
                   for i in range(count)]
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
    print(table(f"Drafting and start-up ({machine()})", [
        ("1,000 notices rendered + written as .eml", f"{eml_total:.2f} s in all (goal <= 2 s): " + "; ".join(eml_lines[1:])),
        ("1,000 drafts placed via Graph (simulator)", f"{graph:.2f} s ({graph:.2f} ms each: key check + create)"),
        ("relevo --help", f"{help_s:.2f} s median of {RUNS} (goal <= 0.3 s)"),
        ("relevo audit", f"{audit_s:.2f} s median of {RUNS} (goal <= 0.5 s)"),
        ("python -c 'import prefect' (reference)", f"{prefect_s:.2f} s median of {RUNS}"),
    ]))


if __name__ == "__main__":
    main()
