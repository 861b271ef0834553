"""The branch-deployment workflow at API latency (the "Workflow" part of `bench/run`).

For each latency (0 and 50 ms per GraphQL request, with seeded jitter) and each N (10, 50, 200 branch
deployments of 2 code locations, each location loading after a short simulated delay), on a fresh emulator:

  * Terraform: `terraform apply` creating them, a no-change `terraform plan` (refresh), and an apply moving every
    branch to a new commit and image;
  * the seed's CLI workflow with the real `dagster-cloud` (one `branch-deployment create-or-update` and one
    `deployment add-location --location-file` per location, per branch; the CLI waits for each location to
    load), sequential as a CI script runs it and 10 branches at a time;
  * the request floor: the fewest GraphQL requests the work needs per branch deployment, on the critical path
    of each of Terraform's 10 workers (N / 10 deployments each, every one waiting once for its locations to
    load), plus Terraform's own time for the same phase over N `terraform_data`;
  * the schema twin: the same Terraform phases over N `dagsterbranch_bench_deployment` (this resource's schema,
    no request), which separates what Terraform and the plugin layer cost for the schema from what our
    requests and load waits add.

GraphQL requests served are counted by the emulator for every run.
"""

from __future__ import annotations

import concurrent.futures
import math
import tempfile
import time
from pathlib import Path

import bench

LOCATIONS = ("defs", "etl")
LOAD_DELAY_MS = 200
PARALLELISM = 10  # Terraform's default -parallelism, and the CLI fan-out measured next to it
JITTER_FRACTION = 0.2
LATENCY_SEED = 20261204
CLI = bench.ROOT / ".venv" / "bin" / "dagster-cloud"
REFRESH_RUNS = 3  # refresh plans are cheap: the median of three
COMMITS = ("1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222")

# The fewest requests per branch deployment: create = the upsert, one document per location, one read that
# sees them loaded; update = the same; refresh = one list of every branch deployment with its locations.
FLOOR_REQUESTS = {"create": 1 + len(LOCATIONS) + 1, "update": 1 + len(LOCATIONS) + 1}

# Targets from the issue (ratios from the same run).
APPLY_TARGET = (50, 50)  # N, latency ms
APPLY_MIN_VS_SEQUENTIAL = 10.0
APPLY_MIN_VS_PARALLEL = 3.0
REFRESH_TARGET = (200, 50)
REFRESH_MAX_OVER_FLOOR = 1.5
REFRESH_MAX_REQUESTS = 20
APPLY_MAX_OVER_FLOOR = 2.0

LOCATION_FILE = "locations:\n" + "".join(
    f"  - location_name: {name}\n    code_source:\n      module_name: bench.{name}\n    image: registry.example.com/bench/{name}:1\n"
    for name in LOCATIONS
)


def image(name: str, commit: str) -> str:
    return f"registry.example.com/bench/{name}:{commit[:7]}"


def terraform_config(url: str | None, n: int, commit: str, resource_type: str = "dagsterbranch_deployment") -> str:
    """N branch deployments at `commit`; with `resource_type = "dagsterbranch_bench_deployment"` (no `url`) the
    schema twin that makes no API call."""
    url_line = f'  url          = "{url}"\n' if url else ""
    blocks = "".join(
        f'  code_location {{\n    name        = "{name}"\n    image       = "{image(name, commit)}"\n'
        f'    module_name = "bench.{name}"\n  }}\n'
        for name in LOCATIONS
    )
    return (
        f'terraform {{\n  required_providers {{\n    dagsterbranch = {{ source = "{bench.OUR_SOURCE}" }}\n  }}\n}}\n\n'
        f'provider "dagsterbranch" {{\n  organization = "{bench.ORG}"\n{url_line}'
        f'  api_token    = "{bench.API_TOKEN}"\n}}\n\n'
        f'resource "{resource_type}" "d" {{\n  count  = {n}\n  repo   = "bench/terraform"\n'
        f'  branch = "feature-${{count.index}}"\n  commit {{\n    hash      = "{commit}"\n    timestamp = 1764806400\n  }}\n'
        f"{blocks}}}\n"
    )


def data_config(n: int, commit: str) -> str:
    return f'resource "terraform_data" "d" {{\n  count = {n}\n  input = "{commit}-${{count.index}}"\n}}\n'


def start_emulator(work: Path, latency_ms: int) -> bench.Emulator:
    work.mkdir(parents=True, exist_ok=True)
    emulator = bench.Emulator(work)
    emulator.call("POST", "/_emulator/simulation", {
        "locationLoadDelayMs": LOAD_DELAY_MS,
        "requestLatencyMs": latency_ms,
        "requestJitterMs": round(latency_ms * JITTER_FRACTION),
        "latencySeed": LATENCY_SEED,
    })
    return emulator


def middle_run(measure, key=lambda run: run):
    """The middle of REFRESH_RUNS runs of `measure()` ordered by `key`: a whole run, so that the request counts
    reported with a time are that run's."""
    runs = sorted((measure() for _ in range(REFRESH_RUNS)), key=key)
    return runs[len(runs) // 2]


def counted(emulator: bench.Emulator, work) -> tuple[float, int, dict]:
    """Runs `work()`; returns its wall time, the GraphQL requests the emulator answered meanwhile and their
    counts per root field."""
    emulator.call("POST", "/_emulator/reset-counters")
    started = time.perf_counter()
    work()
    elapsed = time.perf_counter() - started
    return (elapsed, *emulator.requests_served())


# ----- the seed's CLI workflow ------------------------------------------------------------------------------------


class CliWorkflow:
    def __init__(self, work: Path, url: str):
        self.url = url
        self.home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
        self.file = work / "dagster_cloud.yaml"
        self.file.write_text(LOCATION_FILE)
        self.env = bench.tf_env(None, {"HOME": str(self.home), "DAGSTER_CLOUD_API_TOKEN": bench.API_TOKEN})

    def run(self, args: list[str]) -> str:
        done = bench.run_captured([str(CLI), *args], self.env, timeout=600)
        if done.returncode != 0:
            bench.die(f"`dagster-cloud {' '.join(args)}` exited {done.returncode}: {done.stdout[-1500:]}{done.stderr[-1500:]}")
        return done.stdout

    def branch(self, index: int, commit: str) -> None:
        """What the seed's CI job runs for one branch at one commit."""
        out = self.run(["branch-deployment", "create-or-update", "--url", self.url, "--git-repo-name", "bench/cli",
                        "--branch-name", f"feature-{index}", "--commit-hash", commit, "--timestamp", "1764806400"])
        name = out.strip().splitlines()[-1]
        for location in LOCATIONS:
            self.run(["deployment", "add-location", "--url", f"{self.url}/{name}", "--location-file", str(self.file),
                      "--location-name", location, "--image", image(location, commit), "--commit-hash", commit])

    def all(self, n: int, commit: str, workers: int) -> None:
        if workers == 1:
            for i in range(n):
                self.branch(i, commit)
            return
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            for future in [pool.submit(self.branch, i, commit) for i in range(n)]:
                future.result()


# ----- one run ----------------------------------------------------------------------------------------------------


def run_terraform(work: Path, cli_config: Path, latency_ms: int, n: int) -> dict:
    emulator = start_emulator(work, latency_ms)
    try:
        ws = bench.Workspace(work / "terraform", terraform_config(emulator.url, n, COMMITS[0]), cli_config)
        out = {"create": counted(emulator, ws.apply)}
        out["refresh"] = middle_run(lambda: counted(emulator, lambda: ws.plan(0)), key=lambda run: run[0])
        (ws.dir / "main.tf").write_text(terraform_config(emulator.url, n, COMMITS[1]))
        out["update"] = counted(emulator, ws.apply)
        return out
    finally:
        emulator.stop()


def run_twin(work: Path, cli_config: Path, usage_cli: Path, n: int) -> dict:
    """The same phases over N of the deployment's schema twin: Terraform's and the plugin layer's cost for this
    schema, without a request; and the CPU time of the provider processes in one more refresh, the most a
    faster provider could take off it."""
    twin = "dagsterbranch_bench_deployment"
    ws = bench.Workspace(work / "twin", terraform_config(None, n, COMMITS[0], twin), cli_config)
    out = {"create": ws.apply(), "refresh": middle_run(lambda: ws.plan(0))}
    out["refresh_provider_cpu"] = bench.measured_usage(ws, 0, usage_cli, work, f"twin-{n}", 1)["cpu_s"]
    (ws.dir / "main.tf").write_text(terraform_config(None, n, COMMITS[1], twin))
    out["update"] = ws.apply()
    return out


def run_terraform_data(work: Path, cli_config: Path, n: int) -> dict:
    ws = bench.Workspace(work / "terraform_data", data_config(n, COMMITS[0]), cli_config)
    out = {"create": ws.apply(), "refresh": middle_run(lambda: ws.plan(0))}
    (ws.dir / "main.tf").write_text(data_config(n, COMMITS[1]))
    out["update"] = ws.apply()
    return out


def run_cli(work: Path, latency_ms: int, n: int, workers: int, update: bool) -> dict:
    emulator = start_emulator(work, latency_ms)
    try:
        cli = CliWorkflow(work, emulator.url)
        out = {"create": counted(emulator, lambda: cli.all(n, COMMITS[0], workers))}
        if update:
            out["update"] = counted(emulator, lambda: cli.all(n, COMMITS[1], workers))
        return out
    finally:
        emulator.stop()


def floor(phase: str, n: int, latency_ms: int, data_s: float) -> tuple[float, int]:
    """(seconds, requests) of the floor for `phase` (see the module's docstring)."""
    latency = latency_ms / 1000
    if phase == "refresh":
        return data_s + latency, 1
    per_worker = math.ceil(n / PARALLELISM)
    requests = FLOOR_REQUESTS[phase] * n + (1 if phase == "update" else 0)  # update: the refresh before it
    seconds = data_s + per_worker * (FLOOR_REQUESTS[phase] * latency + LOAD_DELAY_MS / 1000)
    if phase == "update":
        seconds += latency
    return seconds, requests


def bench_workflow(args, work: Path, cli_config: Path, usage_cli: Path) -> dict:
    if not CLI.exists():
        bench.die(f"{CLI} is missing; run scripts/dev-setup")
    result: dict = {"runs": []}
    data = {}
    for n in args.workflow_sizes:
        data[n] = run_terraform_data(work / f"data-{n}", cli_config, n)
    result["terraform_data"] = data
    result["twin"] = {n: run_twin(work / f"twin-{n}", cli_config, usage_cli, n) for n in args.workflow_sizes}
    for latency in args.latencies:
        for n in args.workflow_sizes:
            bench.log(f"workflow at {latency} ms, N = {n}: terraform")
            row = {"latency_ms": latency, "n": n, "terraform": run_terraform(work / f"tf-{latency}-{n}", cli_config, latency, n)}
            with_cli = latency in args.cli_latencies
            if with_cli and n in args.cli_sizes:
                bench.log(f"workflow at {latency} ms, N = {n}: dagster-cloud CLI, 10 at a time")
                row["cli_parallel"] = run_cli(work / f"clip-{latency}-{n}", latency, n, PARALLELISM, update=True)
            if with_cli and n in args.cli_sequential_sizes:
                # Create only: an update runs the same three commands per branch, measured 10 at a time above.
                bench.log(f"workflow at {latency} ms, N = {n}: dagster-cloud CLI, sequential")
                row["cli_sequential"] = run_cli(work / f"clis-{latency}-{n}", latency, n, 1, update=False)
            result["runs"].append(row)
    return result


# ----- report -----------------------------------------------------------------------------------------------------


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value >= 10 else f"{value:.2f} s"


def report(result: dict, add, targets: list) -> None:
    add(f"Branch-deployment workflow at API latency (fresh emulator per cell; {len(LOCATIONS)} code locations per "
        f"branch, each loading {LOAD_DELAY_MS} ms after it is deployed; jitter ±{JITTER_FRACTION:.0%} of the "
        f"latency, seed {LATENCY_SEED}). Wall time, GraphQL requests in parentheses. CLI = the seed's "
        "`dagster-cloud branch-deployment create-or-update` + one `deployment add-location --location-file` per "
        "location, per branch; floor = the fewest requests on each of 10 workers' critical path × latency, plus one "
        "load wait per deployment, plus `terraform_data` for the same phase. Schema twin = the same phase over N "
        "`dagsterbranch_bench_deployment` (this resource's schema and identity, no request: what Terraform and the "
        "plugin layer cost for this schema); so ours − twin is the time our requests and waits add, to set against "
        "the floor's own requests and waits (floor − `terraform_data`).")
    add("")
    add("| latency | N | phase | dagsterbranch | floor | ours ÷ floor | schema twin | ours − twin | floor − terraform_data | "
        "CLI sequential | CLI 10 at a time | sequential ÷ ours | 10-at-a-time ÷ ours |")
    add("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    data = result["terraform_data"]
    twin = result["twin"]
    for row in result["runs"]:
        latency, n = row["latency_ms"], row["n"]
        for phase in ("create", "refresh", "update"):
            ours_s, ours_r, _ = row["terraform"][phase]
            floor_s, floor_r = floor(phase, n, latency, data[n][phase])
            cells = []
            ratios = []
            for kind in ("cli_sequential", "cli_parallel"):
                measured = row.get(kind, {}).get(phase)
                cells.append(f"{seconds(measured[0])} ({measured[1]:,})" if measured else "–")
                ratios.append(f"{measured[0] / ours_s:.1f}×" if measured else "–")
            twin_s = twin[n][phase]
            add(f"| {latency} ms | {n:,} | {phase} | {seconds(ours_s)} ({ours_r:,}) | {seconds(floor_s)} ({floor_r:,}) | "
                f"{ours_s / floor_s:.2f} | {seconds(twin_s)} | {seconds(ours_s - twin_s)} | "
                f"{seconds(floor_s - data[n][phase])} | {cells[0]} | {cells[1]} | {ratios[0]} | {ratios[1]} |")
            at = (n, latency)
            if phase == "create" and at == APPLY_TARGET:
                for kind, minimum, label in (("cli_sequential", APPLY_MIN_VS_SEQUENTIAL, "sequential"),
                                             ("cli_parallel", APPLY_MIN_VS_PARALLEL, "10 at a time")):
                    measured = row.get(kind, {}).get("create")
                    if measured:
                        speedup = measured[0] / ours_s
                        targets.append((f"apply of {n} at {latency} ms ≥ {minimum:g}× faster than the CLI {label}",
                                        f"{speedup:.1f}×", speedup >= minimum))
            if phase == "refresh" and at == REFRESH_TARGET:
                targets.append((f"refresh of {n} at {latency} ms within {REFRESH_MAX_OVER_FLOOR:g}× of the floor",
                                f"{ours_s / floor_s:.2f}×", ours_s / floor_s <= REFRESH_MAX_OVER_FLOOR))
                targets.append((f"refresh of {n} at {latency} ms ≤ {REFRESH_MAX_REQUESTS} requests", f"{ours_r:,}",
                                ours_r <= REFRESH_MAX_REQUESTS))
            if phase in ("create", "update") and latency == APPLY_TARGET[1]:
                targets.append((f"{'apply' if phase == 'create' else 'one-commit update'} of {n} at {latency} ms "
                                f"within {APPLY_MAX_OVER_FLOOR:g}× of the floor", f"{ours_s / floor_s:.2f}×",
                                ours_s / floor_s <= APPLY_MAX_OVER_FLOOR))
    add("")
    add("`terraform_data` in the same run (Terraform's own time, part of each floor): " + "; ".join(
        f"N = {n}: create {seconds(d['create'])}, refresh {seconds(d['refresh'])}, update {seconds(d['update'])}"
        for n, d in data.items()) + ".")
    for row in result["runs"]:
        if row["latency_ms"] == REFRESH_TARGET[1] and row["n"] == REFRESH_TARGET[0]:
            n, latency = row["n"], row["latency_ms"]
            ours_s, _, counts = row["terraform"]["refresh"]
            fields = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
            floor_s, _ = floor("refresh", n, latency, data[n]["refresh"])
            twin_s, provider_cpu_s = twin[n]["refresh"], twin[n]["refresh_provider_cpu"]
            terraform_s = twin_s - provider_cpu_s  # the least the twin's refresh could take with a free provider
            add("")
            add(f"Requests in a refresh of {n} at {latency} ms: {fields}. Where its time goes: the schema twin's "
                f"refresh (no request) takes {seconds(twin_s)}, {twin_s / floor_s:.2f}× the floor on its own, and "
                f"its provider processes use {seconds(provider_cpu_s)} of CPU time: a provider taking no time at all "
                f"would leave at least {seconds(terraform_s)}, {terraform_s / floor_s:.2f}× the floor, to Terraform. "
                f"Our requests add {seconds(ours_s - twin_s)} to the twin's time, the floor's one request "
                f"{seconds(floor_s - data[n]['refresh'])}.")
    add("")
