"""HTTP benchmark: gunicorn on loopback, measured with wrk, each endpoint compared with a bare Django view.

Run with `make bench` (or `.venv/bin/python bench/run.py --help`). Not part of the test suite.

Absolute requests/s depend on the machine; the ratio to `/bench/bare` (the cheapest Django JSON answer, measured
in the same run, through the same middleware, server and client) is what the goals are written against.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
PYTHON = sys.executable

BENCH_DB_NAME = "shuangjian_bench"
LOCAL_PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/2"  # db 2: the test lanes use 1, so a bench run never mixes with them

BENCH_USERNAME = "bench_inspector"
BENCH_REGION_CODE = "500102006"  # 敦仁街道, as in tests/conftest.py

# Every request carries what nginx adds in production: with DEBUG off, SECURE_SSL_REDIRECT answers plain-HTTP
# requests with a 301, which wrk does not count as an error ("Non-2xx or 3xx") and which would be far cheaper.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
TOKEN = "{token}"  # placeholder in endpoint headers, replaced by the bench user's access token


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    goal: float | None = None  # minimum requests/s as a fraction of the bare view's, or None: measured only


# To benchmark another endpoint, add it here. The first entry is the yardstick the others are divided by.
ENDPOINTS = [
    Endpoint("bare", "/bench/bare"),
    Endpoint("healthz", "/healthz"),
    Endpoint("GET /api/v1/me", "/api/v1/me", {"Authorization": f"Bearer {TOKEN}"}, goal=0.6),
]


# --- Small helpers ------------------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, flush=True)


class BenchError(Exception):
    """A problem that stops the run; its message is meant for the person running it."""


def masked(url: str) -> str:
    """A database/cache URL without its password, fit to print and to store in the results."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def local_postgres_database() -> str | None:
    """postgres://…/shuangjian_bench on the local server (created if needed), or None when it does not answer."""
    try:
        import psycopg
    except ImportError:
        return None
    try:
        with psycopg.connect(LOCAL_PG_ADMIN_URL, connect_timeout=2, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB_NAME]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{BENCH_DB_NAME}"')
    except psycopg.Error:
        return None
    return urlunsplit(urlsplit(LOCAL_PG_ADMIN_URL)._replace(path=f"/{BENCH_DB_NAME}"))


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{rev}{'-dirty' if dirty else ''}" if rev else "unknown"


# --- Environment: database, cache, settings -----------------------------------------------------------------------


def bench_environment(tmpdir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The environment gunicorn and the setup steps run with, and a description of the backing services."""
    env = dict(os.environ)
    described = {}

    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        described["database"] = f"{masked(database_url)} (from DATABASE_URL)"
    else:
        database_url = local_postgres_database()
        if database_url:
            described["database"] = f"{database_url} (local PostgreSQL)"
        else:
            sqlite_path = tmpdir / "bench.sqlite3"
            env["SQLITE_PATH"] = str(sqlite_path)
            described["database"] = f"SQLite {sqlite_path} (temporary; PostgreSQL did not answer on 127.0.0.1:5432)"
    if database_url:
        env["DATABASE_URL"] = database_url

    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        described["cache"] = f"{masked(redis_url)} (from REDIS_URL)"
    elif redis_answers(LOCAL_REDIS_URL):
        redis_url = LOCAL_REDIS_URL
        described["cache"] = f"{redis_url} (local Redis)"
    else:
        described["cache"] = "local memory (Redis did not answer on 127.0.0.1:6379)"
    if redis_url:
        env["REDIS_URL"] = redis_url

    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY="bench-" + secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1",
        BENCH_ENDPOINTS="1",
        LOG_LEVEL="WARNING",
        ACCESS_TOKEN_TTL_MINUTES="600",  # outlives any run, so the token never expires mid-measurement
        PYTHONUNBUFFERED="1",
    )
    return env, described


# Runs in a subprocess with the bench environment, so it touches exactly the database gunicorn will serve from.
SETUP_SCRIPT = """
import json, secrets, django
django.setup()
from accounts.models import AuthSession, Membership, Region, Role, User
from accounts.services import auth_login

region = Region.objects.get(code=%(region)r, valid_to__isnull=True)
user = User.objects.filter(username=%(username)r).first()
if user is None:
    user = User.objects.create_user(username=%(username)r, name="压测督查员 bench inspector")
password = secrets.token_urlsafe(24)
user.is_active = True
user.set_password(password)
user.save()
Membership.objects.get_or_create(user=user, role=Role.INSPECTOR, region=region, defaults={"is_active": True})
Membership.objects.filter(user=user).update(is_active=True)
# Earlier runs' sessions (and their access tokens) go, so the token table does not grow run after run.
AuthSession.objects.filter(user=user).delete()
pair = auth_login(identifier=user.username, password=password, device="bench")
print("BENCH_TOKEN=" + json.dumps(pair.access_token))
"""


def prepare_database(env: dict[str, str]) -> str:
    """Migrates, makes the bench user with an inspector membership, and returns a fresh access token."""
    say("Migrating …")
    migrate = subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    if migrate.returncode != 0:
        raise BenchError(f"manage.py migrate failed:\n{migrate.stdout}\n{migrate.stderr}")
    script = SETUP_SCRIPT % {"region": BENCH_REGION_CODE, "username": BENCH_USERNAME}
    setup = subprocess.run([PYTHON, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    for line in setup.stdout.splitlines():
        if line.startswith("BENCH_TOKEN="):
            return json.loads(line.removeprefix("BENCH_TOKEN="))
    raise BenchError(f"could not create the bench user or sign it in:\n{setup.stdout}\n{setup.stderr}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer to report, not to follow


# Straight to 127.0.0.1: no proxy from the environment (http_proxy), no redirects followed.
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def request_headers(endpoint: Endpoint, token: str) -> dict[str, str]:
    return {**PROXY_HEADERS, **{name: value.replace(TOKEN, token) for name, value in endpoint.headers.items()}}


# --- gunicorn -----------------------------------------------------------------------------------------------------


class Server:
    """gunicorn as production runs it (sync workers), on 127.0.0.1; stopped by `stop()` whatever happened."""

    def __init__(self, env: dict[str, str], port: int, workers: int, log_path: Path):
        self.env, self.port, self.workers, self.log_path = env, port, workers, log_path
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        command = [
            PYTHON, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            "--worker-class", "sync",
            "--log-level", "warning",
            "--error-logfile", str(self.log_path),
        ]  # fmt: skip
        # Its own session: Ctrl-C in the terminal reaches this script, which then stops gunicorn in order.
        self.proc = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.proc.returncode}")
            try:
                # /healthz is exempt from the HTTPS redirect, so it answers 200 as soon as a worker is up.
                with LOOPBACK.open(f"{self.base_url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise BenchError(f"gunicorn did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # SIGTERM to the master: graceful shutdown of its workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            # The group is gunicorn's own (start_new_session), so this reaches only its master and workers.
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def check_endpoint(base_url: str, endpoint: Endpoint, headers: dict[str, str]) -> None:
    """One request before wrk: a wrong status (401, a 301 redirect, 404) stops the run with a clear message."""
    request = urllib.request.Request(base_url + endpoint.path, headers=headers)
    try:
        with LOOPBACK.open(request, timeout=10) as response:
            status, body = response.status, response.read(300)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(300)
    if not 200 <= status < 300:
        text = body.decode(errors="replace")
        raise BenchError(f"{endpoint.name} ({endpoint.path}) answered {status}, not 2xx: {text}")


# --- wrk ----------------------------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("wrk is missing: installing the Debian package …")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "timeout": 600}
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, **quiet).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, **quiet)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, **quiet)
        found = shutil.which("wrk")
        if found:
            return found
    raise BenchError("wrk is not installed. Install it (Debian/Ubuntu: `sudo apt-get install wrk`) and run again.")


UNIT_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
LATENCY_LINE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)


def parse_wrk(output: str) -> dict:
    """Requests/s, p50/p99 in ms, request and error counts from `wrk --latency` output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in ", output, re.MULTILINE)
    if not rps or not total:
        raise BenchError(f"could not read wrk's output:\n{output}")
    latency = {int(p): float(v) * UNIT_TO_MS[unit] for p, v, unit in LATENCY_LINE.findall(output)}
    if 50 not in latency or 99 not in latency:
        raise BenchError(f"wrk's output has no latency distribution (was --latency given?):\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "requests_per_s": float(rps.group(1)),
        "requests": int(total.group(1)),
        "p50_ms": latency[50],
        "p99_ms": latency[99],
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": (
            dict(zip(("connect", "read", "write", "timeout"), map(int, socket_errors.groups()), strict=True))
            if socket_errors
            else {}
        ),
    }


def run_wrk(wrk: str, url: str, headers: dict[str, str], seconds: int, args: argparse.Namespace) -> dict:
    command = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    # The margin covers wrk's start and the last requests it waits for; beyond it, something hangs.
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout)


# --- Measuring and reporting --------------------------------------------------------------------------------------


def measure(wrk: str, base_url: str, token: str, args: argparse.Namespace) -> dict[str, list[dict]]:
    """Every endpoint, in order, `rounds` times; bare and the others alternate so slow drifts hit all alike."""
    runs: dict[str, list[dict]] = {e.name: [] for e in ENDPOINTS}
    for round_no in range(1, args.rounds + 1):
        for endpoint in ENDPOINTS:
            headers, url = request_headers(endpoint, token), base_url + endpoint.path
            say(f"  round {round_no}/{args.rounds}: {endpoint.name} (warm-up {args.warmup} s, {args.duration} s) …")
            if args.warmup > 0:
                run_wrk(wrk, url, headers, args.warmup, args)  # fills connection pools, caches, lazy imports
            runs[endpoint.name].append(run_wrk(wrk, url, headers, args.duration, args))
    return runs


def summarise(runs: dict[str, list[dict]]) -> list[dict]:
    bare_runs = runs[ENDPOINTS[0].name]
    rows = []
    for endpoint in ENDPOINTS:
        measured = runs[endpoint.name]
        # The ratio is taken per round (against the bare view measured moments before), then the median.
        ratios = [m["requests_per_s"] / b["requests_per_s"] for m, b in zip(measured, bare_runs, strict=True)]
        errors = sum(m["non_2xx"] for m in measured) + sum(sum(m["socket_errors"].values()) for m in measured)
        ratio = statistics.median(ratios)
        if errors:
            verdict = "ERROR"  # answers that were not 2xx, or broken connections: the figures mean nothing
        elif endpoint.goal is None:
            verdict = ""
        else:
            verdict = "PASS" if ratio >= endpoint.goal else "FAIL"
        rows.append(
            {
                "endpoint": endpoint.name,
                "path": endpoint.path,
                "requests_per_s": statistics.median(m["requests_per_s"] for m in measured),
                "p50_ms": statistics.median(m["p50_ms"] for m in measured),
                "p99_ms": statistics.median(m["p99_ms"] for m in measured),
                "ratio": ratio,
                "goal": endpoint.goal,
                "verdict": verdict,
                "errors": errors,
                "rounds": measured,
            }
        )
    return rows


def print_table(rows: list[dict], rounds: int) -> None:
    heading = f"median of {rounds} rounds" if rounds > 1 else "1 round"
    say(f"\nResults ({heading}):")
    header = f"{'endpoint':<20} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'goal':>6}  result"
    say(header)
    say("-" * len(header))
    for row in rows:
        goal = f"≥{row['goal']:.2f}" if row["goal"] is not None else "-"
        verdict = row["verdict"] + (f" ({row['errors']} errors)" if row["errors"] else "")
        say(
            f"{row['endpoint']:<20} {row['requests_per_s']:>9.1f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
            f"{row['ratio']:>6.2f} {goal:>6}  {verdict}"
        )


def write_results(rows: list[dict], meta: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{meta['started_at'].replace(':', '').replace('-', '')}.json"
    path.write_text(json.dumps({**meta, "results": rows}, indent=2, ensure_ascii=False) + "\n")
    return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per endpoint (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load first (default 3)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the whole series, report medians (default 1)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2, as production)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal fails or a run has errors")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--duration and --rounds must be at least 1, --warmup at least 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = ensure_wrk()
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    per_endpoint = args.warmup + args.duration
    say(f"Benchmark: {len(ENDPOINTS)} endpoints × {args.rounds} round(s) × {per_endpoint} s ≈ "
        f"{len(ENDPOINTS) * args.rounds * per_endpoint} s of load.")  # fmt: skip

    load_before = os.getloadavg()[0]
    if load_before > 0.5 * (os.cpu_count() or 1):
        # wrk, gunicorn and PostgreSQL share the CPUs: anything else running skews the figures, even the ratios.
        say(f"Warning: load average {load_before:.1f} before the run; other processes will make the figures noisy.")

    with tempfile.TemporaryDirectory(prefix="shuangjian-bench-") as tmp:
        tmpdir = Path(tmp)
        env, services = bench_environment(tmpdir)
        for name, value in services.items():
            say(f"{name}: {value}")
        token = prepare_database(env)

        server = Server(env, free_port(), args.workers, tmpdir / "gunicorn.log")
        try:
            server.start()
            say(f"gunicorn: {args.workers} sync workers on {server.base_url}")
            for endpoint in ENDPOINTS:
                check_endpoint(server.base_url, endpoint, request_headers(endpoint, token))
            runs = measure(wrk, server.base_url, token, args)
        except BenchError:
            if tail := server.log_tail():
                say(f"gunicorn log (last lines):\n{tail}")
            raise
        finally:
            server.stop()

    rows = summarise(runs)
    print_table(rows, args.rounds)
    meta = {
        "started_at": started_at,
        "git": git_revision(),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": round(load_before, 2),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "services": services,
        "server": {"gunicorn_workers": args.workers, "worker_class": "sync"},
        "wrk": {
            "connections": args.connections,
            "threads": args.threads,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
        },
    }
    say(f"\nWritten: {write_results(rows, meta)}")

    failed = [r["endpoint"] for r in rows if r["verdict"] in {"FAIL", "ERROR"}]
    if failed:
        say(f"Below goal or with errors: {', '.join(failed)}" + ("" if args.strict else " (exit 0: no --strict)"))
    return 1 if failed and args.strict else 0


def _terminate(signum, frame):
    raise KeyboardInterrupt  # so a SIGTERM (e.g. from `timeout`) also runs the `finally` that stops gunicorn


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("bench: interrupted; gunicorn stopped.", file=sys.stderr)
        sys.exit(130)
