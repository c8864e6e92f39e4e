"""Memory held by approvals waiting for a person: paused runs (before) against suspended runs (after).

    python -m tests.bench.bench_waiting_approvals [--count 50] [--mode pause|suspend|both]

A temporary Prefect server, a `relevo` process pool and one worker; `count` runs of a deployment whose
flow imports relevo's flows (the memory a real run carries) and waits on relevo's approval form:
`pause` calls `pause_flow_run` as relevo did before issue 17 item 6, `suspend` calls relevo's own
`relevo.engine.approving.wait_for_answer` (which suspends a deployment run). Once every run is
Paused/Suspended the RSS of the worker and of all its child processes (the run processes) is summed
from /proc and printed. Run by hand; not collected by pytest.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.support import BIN, QUIET, prefect_stack, table, wait

FLOW = """from prefect import flow
from prefect.input import RunInput

import relevo.offboarding  # noqa: F401  (the modules a real offboarding run has loaded)


class Answer(RunInput):
    approved_by: str = ""


@flow(name="waiting-approval")
def waiting(mode: str) -> None:
    if mode == "pause":
        from prefect import pause_flow_run

        pause_flow_run(wait_for_input=Answer, timeout=3600, poll_interval=1)
    else:
        from relevo.engine.approving import wait_for_answer

        wait_for_answer(Answer, 3600, "relevo-approval-1")
"""


def rss_tree(pid: int) -> tuple[int, int]:
    """(RSS in bytes of `pid` and all its descendants, number of processes), read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, count, todo = 0, 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        total, count = total + rss * 1024, count + 1
        todo.extend(children.get(current, []))
    return total, count


def measure(mode: str, count: int) -> list[tuple[str, str]]:
    from prefect import get_client
    from prefect.deployments import run_deployment

    with tempfile.TemporaryDirectory() as tmp, prefect_stack(worker=False) as env:
        directory = Path(tmp)
        (directory / "waiting.py").write_text(FLOW, "utf-8")
        (directory / "prefect.yaml").write_text(
            "name: waiting\nprefect-version: 3.9.1\nbuild: null\npush: null\npull:\n"
            f"  - prefect.deployments.steps.set_working_directory:\n      directory: {directory}\n"
            "deployments:\n  - name: waiting\n    entrypoint: waiting.py:waiting\n    work_pool:\n      name: relevo\n",
            "utf-8",
        )
        subprocess.run(
            [str(BIN / "prefect"), "deploy", "--all"],
            cwd=directory,
            env={**env, **QUIET},
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        worker = subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", "relevo"],
            cwd=directory,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(5)
            idle, _ = rss_tree(worker.pid)
            started = time.monotonic()
            ids = [
                run_deployment("waiting-approval/waiting", parameters={"mode": mode}, timeout=0).id
                for _ in range(count)
            ]
            with get_client(sync_client=True) as client:

                def states() -> list[Any]:
                    return [client.read_flow_run(i).state for i in ids]

                # A run that ended instead (Crashed: a loaded SQLite server answered its submission 503)
                # waits for nobody: it is counted apart, not waited for.
                wait(
                    lambda: all(s is not None and (s.is_paused() or s.is_final()) for s in states()),
                    timeout=1800,
                    every=1,
                )
                took = time.monotonic() - started
                time.sleep(10)  # suspended runs' processes exit; paused ones settle
                held, processes = rss_tree(worker.pid)
                waiting = sum(1 for s in states() if s is not None and s.is_paused())
        finally:
            worker.terminate()
            worker.wait(60)
    mb = 1024 * 1024
    return [
        (f"{mode}: worker idle RSS", f"{idle / mb:.0f} MB"),
        (
            f"{mode}: {waiting} of {count} runs waiting, worker + run processes RSS",
            f"{held / mb:.0f} MB in {processes} processes",
        ),
        (f"{mode}: per waiting approval", f"{(held - idle) / max(1, waiting) / mb:.1f} MB"),
        (f"{mode}: time until all {count} were waiting or ended", f"{took:.0f} s"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--mode", choices=["pause", "suspend", "both"], default="both")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    for mode in ["pause", "suspend"] if args.mode == "both" else [args.mode]:
        rows += measure(mode, args.count)
    print(table(f"{args.count} approvals waiting for a person", rows))


if __name__ == "__main__":
    main()
