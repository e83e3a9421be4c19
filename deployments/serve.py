"""`make serve` / `make stop`: a Prefect server and a process worker on loopback, no Docker.

    python deployments/serve.py start [--port 4200] [--state-dir .serve]
    python deployments/serve.py stop  [--state-dir .serve]

`start` starts `prefect server start` on 127.0.0.1:PORT (its database under STATE/prefect), waits
until its API answers, creates the process work pool "indexgate", deploys every deployment of
deployments/prefect.yaml, starts `prefect worker start --pool indexgate`, and prints the UI
address. Each process runs in its own session; its pid goes to STATE/<name>.pid and its output to
STATE/<name>.log. A second `start` reuses a server or worker whose pid is alive (no duplicates)
and deploys again (an update). `stop` ends the two processes by their recorded pids.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
POOL = "indexgate"


def _env(state: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PREFECT_HOME": str(state / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        # The worker polls for new runs every few seconds (Prefect's default is 15).
        "PREFECT_WORKER_QUERY_SECONDS": os.environ.get("PREFECT_WORKER_QUERY_SECONDS", "3"),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        # The deployments' pull step changes into this folder before a run (relative paths).
        "INDEXGATE_REPO": str(REPO),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    return env


def _alive(pid_file: Path) -> int | None:
    """The recorded pid if that process is still running, else None (and the stale file goes)."""
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        pid_file.unlink(missing_ok=True)
        return None
    except PermissionError:
        pass
    return pid


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
            return json.loads(response.read()) is True
    except (OSError, ValueError):
        return False


def _spawn(name: str, args: list[str], state: Path, env: dict) -> int:
    log = open(state / f"{name}.log", "ab")
    process = subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    (state / f"{name}.pid").write_text(str(process.pid))
    return process.pid


def _run(args: list[str], env: dict, what: str) -> None:
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"serve: {what} failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def start(state: Path, port: int, timeout: float) -> None:
    state.mkdir(parents=True, exist_ok=True)
    recorded = state / "port"
    if _alive(state / "server.pid") and recorded.is_file() and int(recorded.read_text()) != port:
        sys.exit(f"serve: a server of {state} already runs on port {recorded.read_text()}; `make stop` first")
    env = _env(state, port)
    if (pid := _alive(state / "server.pid")) and _healthy(port):
        print(f"server already running (pid {pid})")
    else:
        if _healthy(port):
            sys.exit(f"serve: something else answers on 127.0.0.1:{port}; choose another PORT")
        pid = _spawn("server", [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                     state, env)
        recorded.write_text(str(port))
        print(f"server starting (pid {pid}), log {state / 'server.log'}")
        deadline = time.monotonic() + timeout
        while not _healthy(port):
            if _alive(state / "server.pid") is None:
                sys.exit(f"serve: the server exited; see {state / 'server.log'}")
            if time.monotonic() > deadline:
                sys.exit(f"serve: the server did not answer within {timeout:.0f} s; see {state / 'server.log'}")
            time.sleep(1)
    prefect = str(BIN / "prefect")
    inspect = subprocess.run([prefect, "work-pool", "inspect", POOL], cwd=REPO, env=env, capture_output=True)
    if inspect.returncode != 0:
        _run([prefect, "work-pool", "create", POOL, "--type", "process"], env, "creating the work pool")
    _run([sys.executable, str(Path(__file__)), "deploy"], env, "deploying")
    print(f"deployed deployments/prefect.yaml to work pool {POOL}")
    if pid := _alive(state / "worker.pid"):
        print(f"worker already running (pid {pid})")
    else:
        pid = _spawn("worker", [prefect, "worker", "start", "--pool", POOL, "--type", "process",
                                "--name", f"indexgate-{port}"], state, env)
        print(f"worker started (pid {pid}), log {state / 'worker.log'}")
    print(f"Prefect UI: http://127.0.0.1:{port}")


def _resolve(value, env: dict):
    """``{{ $NAME }}`` in the YAML's strings -> the environment's value (as `prefect deploy` does)."""
    if isinstance(value, str):
        return re.sub(r"\{\{\s*\$(\w+)\s*\}\}", lambda m: env.get(m.group(1), ""), value)
    if isinstance(value, dict):
        return {k: _resolve(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, env) for v in value]
    return value


def deploy(prefect_file: Path = REPO / "deployments" / "prefect.yaml") -> list[str]:
    """Create or update every deployment of ``prefect_file`` on the API in PREFECT_API_URL.

    Done through Prefect's client rather than `prefect deploy`, so that the pull step's
    ``{{ $INDEXGATE_REPO }}`` becomes this checkout and a failure names the deployment.
    `prefect --no-prompt deploy --prefect-file deployments/prefect.yaml --all` does the same by
    hand (with fastapi 0.151-0.155 under the server it stopped after the first deployment with a
    422 on null paging values; pyproject.toml pins 0.150.0)."""
    import yaml
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.flows import load_flow_from_entrypoint

    # The pull step's {{ $INDEXGATE_REPO }} is resolved now: the runs execute in this checkout.
    spec = _resolve(yaml.safe_load(prefect_file.read_text()), {"INDEXGATE_REPO": str(REPO), **os.environ})
    names = []
    with get_client(sync_client=True) as client:
        for item in spec["deployments"]:
            flow = load_flow_from_entrypoint(str(REPO / item["entrypoint"]))
            pool = item.get("work_pool") or {}
            schedules = [DeploymentScheduleCreate(schedule=CronSchedule(cron=s["cron"], timezone=s.get("timezone")))
                         for s in item.get("schedules") or []]
            client.create_deployment(
                flow_id=client.create_flow(flow), name=item["name"], entrypoint=item["entrypoint"],
                description=item.get("description"), tags=item.get("tags") or [], parameters=item.get("parameters") or {},
                parameter_openapi_schema=flow.parameters.model_dump_for_openapi(), schedules=schedules,
                enforce_parameter_schema=item.get("enforce_parameter_schema", True), work_pool_name=pool.get("name"),
                job_variables=pool.get("job_variables") or {}, pull_steps=spec.get("pull"), path=str(REPO))
            names.append(f"{flow.name}/{item['name']}")
    return names


def stop(state: Path, grace: float = 20.0) -> None:
    for name in ("worker", "server"):
        pid_file = state / f"{name}.pid"
        pid = _alive(pid_file)
        if pid is None:
            print(f"{name}: not running")
            continue
        # Each was started in its own session (process group = its pid): the server's and the
        # worker's children (uvicorn, flow-run processes) end with it.
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.5)
        else:
            os.killpg(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)
        print(f"{name}: stopped (pid {pid})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop", "deploy"])
    parser.add_argument("--port", type=int, default=4200)
    parser.add_argument("--state-dir", type=Path, default=REPO / ".serve")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the server's API")
    args = parser.parse_args(argv)
    state = args.state_dir.resolve()
    if args.command == "start":
        start(state, args.port, args.timeout)
    elif args.command == "deploy":
        print("\n".join(deploy()))
    else:
        stop(state)


if __name__ == "__main__":
    main()
