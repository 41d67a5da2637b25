"""Live-chat load generator: bot-turn latency and throughput next to bare baselines, in one run.

What it measures (all against servers it starts itself on 127.0.0.1, each phase bounded in time):

  ws echo paced      200 visitors on /ws/ping/, one message per second each  → p50/p99 RTT
  ws echo saturated  N closed-loop clients on /ws/ping/                       → messages/s, p50/p99
  group round trip   200 virtual visitors, one group_send per second each, through the same
                     channel layer the server uses (Redis with --production) → p50/p99
  chat paced         200 visitors on /ws/chat/, one question per second each → bot-reply p50/p99, turns/s
  chat saturated     N closed-loop visitors on /ws/chat/                       → turns/s, p50/p99
  REST               closed-loop POST /api/v1/chat vs GET /healthz (a bare Django JSON view), on the
                     same daphne, and (with --production) on gunicorn with 2 sync workers (--http-workers)

Questions are the held-out demo KB questions (bench/data/demo_kb_eval*.jsonl); a visitor whose
conversation is handed to a person (keywords such as 投诉/人工) starts a new session, since the
bot rightly stays quiet then.

Usage (from the repo root, virtualenv active):
  python bench/chat_load.py                 # embedded: SQLite + in-memory channel layer
  python bench/chat_load.py --production    # PostgreSQL + Redis (DATABASE_URL/REDIS_URL or local defaults)
  python bench/chat_load.py --production --write   # also rewrite bench/results/chat.md
Options: --visitors 200 --seconds 20 --ramp 5 --warmup 10 --saturate 40 --rest-conns 32 --ws-procs 1 --http-workers 2 --ws-server daphne (see --help;
`--ws-server uvicorn` compares uvicorn + uvloop + websockets, installed separately: `pip install uvicorn uvloop`).

The paced chat phase is measured in steady state: 200 visitors arriving within a few seconds each
open a session and send at once, a burst that queues for seconds before the paced rate takes
over. Its replies are reported apart (the row's note), not mixed into the steady-state p50/p99.

The load generator shares the machine's 2 cores with the server: absolute numbers are lower
than with a separate client machine; the ratios measured in one run are the point.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_SECRET = "bench-only-secret-key-not-for-production"
ORIGIN_HOST = "127.0.0.1"


# ------------------------------------------------------------------------------------ results


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds
    # Replies that arrived before the measured window (the arrival ramp and warm-up), kept to
    # report how long the start-up backlog lasted, never mixed into ``latencies``.
    warmup_latencies: list[float] = field(default_factory=list)
    count: int = 0
    errors: int = 0
    seconds: float = 0.0
    note: str = ""
    # CPU seconds the server processes (daphne/gunicorn and their PostgreSQL backends) used
    # during the measured window: per reply it does not depend on what else the machine runs.
    server_cpu: float | None = None
    db_cpu: float | None = None
    # CPU seconds this load generator used in the window: it shares the cores with the servers,
    # so a cheap phase (a bare view) is partly bounded by the client, not by the server.
    client_cpu: float | None = None

    def pct(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def row(self) -> str:
        p50, p99 = self.pct(0.50), self.pct(0.99)
        fmt = lambda v: "—" if v is None else f"{v:.1f}"  # noqa: E731
        cpu = "—"
        if self.server_cpu is not None and self.count:
            cpu = f"{self.server_cpu / self.count * 1000:.2f}"
            if self.db_cpu:
                cpu += f" + {self.db_cpu / self.count * 1000:.2f}"
        note = self.note
        if self.client_cpu is not None and self.count:
            note = "; ".join(part for part in (f"load generator {self.client_cpu / self.count * 1000:.2f} ms CPU each", note) if part)
        return f"| {self.name} | {fmt(p50)} | {fmt(p99)} | {self.rate:,.0f} | {self.count:,} | {self.errors} | {cpu} | {note} |"


def cpu_seconds(pids: list[int], db_name: str = "") -> tuple[float, float]:
    """(CPU seconds of ``pids`` and their children, of PostgreSQL backends serving ``db_name``) from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    server = db = 0.0
    wanted = set(pids)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            used = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
            if int(entry.name) in wanted or int(fields[1]) in wanted:  # fields[1]: the parent pid
                server += used
            elif db_name and f" {db_name} ".encode() in (entry / "cmdline").read_bytes():
                db += used
        except (OSError, IndexError, ValueError):
            continue
    return server, db



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def questions() -> list[str]:
    rows: list[str] = []
    for path in sorted((ROOT / "bench" / "data").glob("demo_kb_eval*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            rows.extend(json.loads(line)["query"] for line in handle if line.strip())
    return list(dict.fromkeys(rows)) or ["怎么申请退货", "退款多久到账", "发票怎么开", "多久发货"]


# ------------------------------------------------------------------------------------ servers


class Servers:
    """Prepares a database with the demo data and starts daphne (and gunicorn) on loopback."""

    def __init__(self, *, production: bool) -> None:
        self.production = production
        self.tmp = Path(tempfile.mkdtemp(prefix="csbot-bench-"))
        self.procs: list[subprocess.Popen] = []
        self.gunicorn_pid: int | None = None
        self.db_name = f"csbot_bench_{os.getpid()}"
        self.env = dict(os.environ)
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "csbot.settings.base",
                "DJANGO_DEBUG": "0",  # DEBUG records every query: never benchmark with it on
                "DJANGO_SECRET_KEY": BENCH_SECRET,
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "DJANGO_LOG_LEVEL": "WARNING",
                "CSBOT_VAR_DIR": str(self.tmp),
                # The bench measures the pipeline, not the abuse limits.
                "CSBOT_RATE_LIMIT_MESSAGES": "100000000/60",
                "CSBOT_RATE_LIMIT_SESSIONS": "100000000/60",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if production:
            base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
            self.admin_url = base
            self.env["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + self.db_name
            self.env["REDIS_URL"] = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
            self.env["CSBOT_CHANNEL_PREFIX"] = f"csbot-bench-{os.getpid()}"
            self.env["CSBOT_CACHE_PREFIX"] = f"csbot-bench-{os.getpid()}"
        else:
            for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "ELASTICSEARCH_URL"):
                self.env.pop(name, None)

    def manage(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=600)
        if out.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def prepare(self) -> str:
        if self.production:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}"')
                conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.manage("migrate", "--noinput", "-v0")
        self.manage("demo_setup")
        key = self.manage(
            "shell", "-c", "from conversations.services import demo_site_key_ensure; print('KEY=' + demo_site_key_ensure()[0].key)"
        )
        self.manage("nlu_train", "--activate")
        return next(line[4:] for line in key.splitlines() if line.startswith("KEY="))

    def start(self, argv: list[str], port: int) -> None:
        log = open(self.tmp / f"server-{port}.log", "w")  # noqa: SIM115 - closed with the process
        self.procs.append(subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
            if self.procs[-1].poll() is not None:
                raise RuntimeError(f"server on port {port} exited; see {log.name}")
            time.sleep(0.2)
        raise RuntimeError(f"server on port {port} did not start")

    def daphne(self, server: str = "daphne") -> int:
        """One ASGI server process for WebSockets: daphne (the default), or uvicorn with uvloop
        and the ``websockets`` protocol implementation, to compare the two in one run."""
        port = free_port()
        if server == "uvicorn":
            argv = [str(Path(sys.executable).with_name("uvicorn")), "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--ws", "websockets",
                    "--no-access-log", "--log-level", "warning", "csbot.asgi:application"]
        else:
            argv = [str(Path(sys.executable).with_name("daphne")), "-b", "127.0.0.1", "-p", str(port), "csbot.asgi:application"]
        self.start(argv, port)
        return port

    def gunicorn(self, workers: int = 2, *, free_models: bool = False) -> int:
        """``workers`` sync workers, each loading the models before it serves (as production should).

        ``free_models``: the experiment of ``bench/free_models.py`` (models memoised per text)."""
        port = free_port()
        config = self.tmp / "gunicorn_bench.py"
        config.write_text(
            "timeout = 180\n"
            "def post_worker_init(worker):\n"
            "    from conversations.services.understanding import warm_up\n"
            "    warm_up()\n"
            + (f"    import sys; sys.path.insert(0, {str(ROOT / 'bench')!r})\n    import free_models; free_models.install()\n" if free_models else "")
        )
        argv = [str(Path(sys.executable).with_name("gunicorn")), "-c", str(config), "-w", str(workers), "-b", f"127.0.0.1:{port}", "-k", "sync", "csbot.wsgi:application"]
        self.start(argv, port)
        self.gunicorn_pid = self.procs[-1].pid
        return port

    def spy(self, out: str, seconds: float, *, pid: int | None = None, subprocesses: bool = False) -> subprocess.Popen:
        """py-spy (if installed) samples a server process (default: the first daphne) for
        ``seconds`` (``--gil``: only the thread holding the GIL, i.e. where the process's
        Python time goes); ``subprocesses`` follows a gunicorn master's workers."""
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        argv = [spy, "record", "--pid", str(pid or self.procs[0].pid), "--duration", str(int(seconds)), "--format", "raw", "--output", out, "--nonblocking", "--gil"]
        if subprocesses:
            argv.append("--subprocesses")
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def server_latencies(self) -> list[int]:
        """The pipeline's own latency_ms (analysis + decision) of every bot reply stored."""
        out = self.manage("shell", "-c", "from conversations.models import Message; import json; print('LAT=' + json.dumps(list(Message.objects.filter(sender='bot').exclude(latency_ms=None).values_list('latency_ms', flat=True))))")
        return json.loads(next(line[4:] for line in out.splitlines() if line.startswith("LAT=")))

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.production:
            with contextlib.suppress(Exception):
                import psycopg

                with psycopg.connect(self.admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            with contextlib.suppress(Exception):
                import redis

                client = redis.Redis.from_url(self.env["REDIS_URL"])
                for key in client.scan_iter(match=f"*csbot-bench-{os.getpid()}*", count=1000):
                    client.delete(key)
        for log in sorted(self.tmp.glob("server-*.log")):
            text = log.read_text(errors="replace")
            if "Traceback" in text or "ERROR" in text:
                print(f"--- {log.name} (errors; last 60 lines) ---\n" + "\n".join(text.splitlines()[-60:]), file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------ websocket phases


async def ws_connect(url: str, port: int):
    import websockets

    return await websockets.connect(url, origin=f"http://{ORIGIN_HOST}:{port}", compression=None, max_size=2**20, open_timeout=30, ping_interval=None)


async def echo_client(port: int, result: Result, stop_at: float, measure_from: float, *, paced: bool, start_delay: float) -> None:
    await asyncio.sleep(start_delay)
    try:
        ws = await ws_connect(f"ws://127.0.0.1:{port}/ws/ping/", port)
    except Exception:
        result.errors += 1
        return
    try:
        next_at = time.monotonic()
        while time.monotonic() < stop_at:
            if paced:
                next_at += 1.0
            sent = time.perf_counter()
            await ws.send(json.dumps({"t": sent, "text": "你好，请问多久发货？"}))
            await ws.recv()
            if time.monotonic() >= measure_from:
                result.latencies.append(time.perf_counter() - sent)
                result.count += 1
            if paced:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    except Exception:
        result.errors += 1
    finally:
        await ws.close()


@dataclass
class ChatStats:
    sessions: int = 0
    handed_over: int = 0
    timeouts: int = 0


async def chat_client(port: int, site_key: str, qs: list[str], result: Result, stats: ChatStats, stop_at: float, measure_from: float, *, paced: bool, start_delay: float) -> None:
    await asyncio.sleep(start_delay)
    rng = random.Random(start_delay)
    ws = None
    try:
        next_at = time.monotonic()
        while time.monotonic() < stop_at:
            if ws is None:
                ws = await ws_connect(f"ws://127.0.0.1:{port}/ws/chat/?site={site_key}", port)
                hello = json.loads(await ws.recv())
                if hello.get("type") != "status":
                    result.errors += 1
                    return
                stats.sessions += 1
            if paced:
                next_at += 1.0
            sent = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "text": rng.choice(qs), "client_msg_id": uuid.uuid4().hex}))
            replied = handed_over = False
            deadline = time.monotonic() + 10
            while not replied and time.monotonic() < deadline:
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=max(0.01, deadline - time.monotonic())))
                except asyncio.TimeoutError:
                    break
                if frame["type"] == "message" and frame["message"]["sender"] in ("bot", "system"):
                    replied = True
                    # The only system reply to a turn is the handoff notice: a person owns it now.
                    handed_over = frame["message"]["sender"] == "system"
                elif frame["type"] == "status" and frame.get("status") in ("queued", "with_agent"):
                    handed_over = True
                elif frame["type"] == "error":
                    result.errors += 1
                    break
            if replied and time.monotonic() >= measure_from:
                result.latencies.append(time.perf_counter() - sent)
                result.count += 1
            elif replied:
                result.warmup_latencies.append(time.perf_counter() - sent)
            elif not replied:
                stats.timeouts += 1
            if handed_over:  # a person owns it now: the bot stays quiet, so start a new session
                stats.handed_over += 1
                # the queued status may trail the notice: drain briefly, then reconnect
                with contextlib.suppress(asyncio.TimeoutError, Exception):
                    await asyncio.wait_for(ws.recv(), timeout=0.05)
                await ws.close()
                ws = None
            if paced:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    except Exception:
        result.errors += 1
    finally:
        if ws is not None:
            await ws.close()


async def cpu_window(result: Result | None, measure_from: float, stop_at: float) -> None:
    """Record on ``result`` the CPU the servers (and this load generator) used between the two monotonic instants."""
    await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
    before, client_before = cpu_seconds(CPU_PIDS, CPU_DB), time.process_time()
    await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
    after, client_after = cpu_seconds(CPU_PIDS, CPU_DB), time.process_time()
    if result is not None:
        result.server_cpu, result.db_cpu = after[0] - before[0], after[1] - before[1]
        result.client_cpu = client_after - client_before


# Set by main(): the server processes and database whose CPU time each phase reports.
CPU_PIDS: list[int] = []
CPU_DB = ""


async def run_clients(make, n: int, seconds: float, warmup: float, ramp: float, ports: list[int], result: Result | None = None) -> float:
    """Start ``n`` clients spread over ``ports`` (as nginx would spread them over daphne processes).

    With ``result``, the servers' CPU time over the measured window is recorded on it."""
    start = time.monotonic()
    measure_from = start + ramp + warmup
    stop_at = measure_from + seconds

    await asyncio.gather(cpu_window(result, measure_from, stop_at), *(make(ports[i % len(ports)], stop_at, measure_from, ramp * i / max(1, n)) for i in range(n)))
    return seconds


async def group_round_trip(env: dict[str, str], n: int, seconds: float, warmup: float) -> Result:
    """Bare channel-layer cost: group_send → receive on the same layer the server uses."""
    result = Result("channel-layer group round trip (paced)")
    if env.get("REDIS_URL"):
        hosts, prefix = [{"address": env["REDIS_URL"], "max_connections": 1000}], env.get("CSBOT_CHANNEL_PREFIX", "bench")
        if env.get("CSBOT_CHANNEL_LAYER", "pubsub") == "lists":
            from channels_redis.core import RedisChannelLayer

            layer = RedisChannelLayer(hosts=hosts, prefix=prefix, capacity=1500, expiry=60)
            result.note = "Redis layer (lists)"
        else:
            sys.path.insert(0, str(ROOT))
            from csbot.layers import ResyncPubSubChannelLayer

            layer = ResyncPubSubChannelLayer(hosts=hosts, prefix=prefix)
            result.note = "Redis layer (Pub/Sub, as the server)"
    else:
        from channels.layers import InMemoryChannelLayer

        layer = InMemoryChannelLayer()
        result.note = "in-memory layer (same process: no network)"
    channels = []
    for i in range(n):
        channel = await layer.new_channel()
        await layer.group_add(f"bench.g.{i}", channel)
        channels.append(channel)
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + seconds

    async def one(i: int) -> None:
        await asyncio.sleep(i / n)
        next_at = time.monotonic()
        while time.monotonic() < stop_at:
            next_at += 1.0
            sent = time.perf_counter()
            await layer.group_send(f"bench.g.{i}", {"type": "chat.ping", "t": sent})
            await layer.receive(channels[i])
            if time.monotonic() >= measure_from:
                result.latencies.append(time.perf_counter() - sent)
                result.count += 1
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    await asyncio.gather(*(one(i) for i in range(n)))
    for i, channel in enumerate(channels):
        await layer.group_discard(f"bench.g.{i}", channel)
    for close in ("close_pools", "flush"):
        if hasattr(layer, close):
            with contextlib.suppress(Exception):
                await getattr(layer, close)()
            break
    result.seconds = seconds
    return result


# ------------------------------------------------------------------------------------ HTTP phases


class Http:
    """A minimal HTTP/1.1 keep-alive client (reconnects when the server closes, as gunicorn's sync workers do)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"Content-Length: {len(body)}", "Connection: keep-alive"]
        if body:
            lines.append("Content-Type: application/json")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        parsed = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
        length = int(parsed.get("content-length", "0"))
        data = await self.reader.readexactly(length) if length else b""
        if parsed.get("connection", "").lower() == "close":
            await self.close()
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def http_phase(name: str, port: int, conns: int, seconds: float, warmup: float, *, chat: bool, qs: list[str], note: str = "") -> Result:
    result = Result(name, note=note)
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + seconds

    async def client(i: int) -> None:
        http = Http(port)
        rng = random.Random(i)
        session: dict[str, str] | None = None
        try:
            while time.monotonic() < stop_at:
                sent = time.perf_counter()
                if chat:
                    payload: dict[str, str] = {"message": rng.choice(qs), "client_msg_id": uuid.uuid4().hex}
                    headers = {}
                    if session:
                        payload["session_id"] = session["id"]
                        headers["X-Session-Token"] = session["token"]
                    status, body = await http.request("POST", "/api/v1/chat", json.dumps(payload).encode(), headers)
                    if status == 200:
                        reply = json.loads(body)
                        # Stay in one session while the bot answers; a handed-over one is left.
                        session = {"id": reply["session_id"], "token": reply["token"]} if reply["status"] == "bot" else None
                else:
                    status, body = await http.request("GET", "/healthz")
                if status != 200:
                    result.errors += 1
                    session = None
                elif time.monotonic() >= measure_from:
                    result.latencies.append(time.perf_counter() - sent)
                    result.count += 1
        except Exception:
            result.errors += 1
        finally:
            await http.close()

    await asyncio.gather(cpu_window(result, measure_from, stop_at), *(client(i) for i in range(conns)))
    result.seconds = seconds
    return result


# ------------------------------------------------------------------------------------ main


async def warm_up(port: int, site_key: str, qs: list[str]) -> None:
    """First turns load the models and train the KB matcher in each server process. The
    socket may be dropped while a worker thread hogs the GIL for seconds: just retry."""
    answered, deadline = 0, time.monotonic() + 300
    while answered < 5 and time.monotonic() < deadline:
        try:
            ws = await ws_connect(f"ws://127.0.0.1:{port}/ws/chat/?site={site_key}", port)
            await ws.recv()
            while answered < 5:
                await ws.send(json.dumps({"type": "message", "text": qs[answered], "client_msg_id": uuid.uuid4().hex}))
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=120))
                    if frame["type"] == "message" and frame["message"]["sender"] != "visitor":
                        answered += 1
                        break
            await ws.close()
        except Exception as exc:  # noqa: BLE001
            print(f"  warm-up retry after {type(exc).__name__}", file=sys.stderr)
            await asyncio.sleep(1)


async def measure(args: argparse.Namespace, servers: Servers, site_key: str, ports: list[int], gunicorn_port: int | None) -> list[Result]:
    qs = questions()
    results: list[Result] = []
    n, secs, warm = args.visitors, args.seconds, 2.0
    ramp = 2.0
    port = ports[0]
    print("warming up the chat pipeline …", file=sys.stderr)
    for each in ports:
        await warm_up(each, site_key, qs)
    only = set(args.only.split(",")) if args.only else {"echo", "group", "chat", "rest"}
    if "echo" in only:
        results += await echo_phases(args, ports)
    if "group" in only:
        print("channel-layer group round trip …", file=sys.stderr)
        results.append(await group_round_trip(servers.env, n, secs, warm))
    if "chat" in only:
        spy = servers.spy(args.spy, secs + 4) if args.spy else None
        results += await chat_phases(args, site_key, ports, qs)
        if spy is not None:
            spy.wait()
    if "rest" in only:
        results += await rest_phases(args, port, gunicorn_port, qs, servers)
    return results


async def echo_phases(args: argparse.Namespace, ports: list[int]) -> list[Result]:
    results: list[Result] = []
    n, secs, warm, ramp = args.visitors, args.seconds, 2.0, 2.0
    print("ws echo, paced …", file=sys.stderr)
    r = Result(f"ws echo /ws/ping/, {n} visitors × 1 msg/s", note="bare consumer")
    r.seconds = await run_clients(lambda p, stop, mf, d: echo_client(p, r, stop, mf, paced=True, start_delay=d), n, secs, warm, ramp, ports, result=r)
    results.append(r)

    print("ws echo, saturated …", file=sys.stderr)
    r = Result(f"ws echo /ws/ping/, {args.saturate} closed-loop clients", note="bare consumer, saturated")
    r.seconds = await run_clients(lambda p, stop, mf, d: echo_client(p, r, stop, mf, paced=False, start_delay=d), args.saturate, secs / 2, warm, 0.5, ports, result=r)
    results.append(r)
    return results


async def chat_phases(args: argparse.Namespace, site_key: str, ports: list[int], qs: list[str]) -> list[Result]:
    results: list[Result] = []
    n, secs, warm, ramp = args.visitors, args.seconds, args.warmup, args.ramp
    print("chat, paced …", file=sys.stderr)
    stats = ChatStats()
    r = Result(f"chat turn /ws/chat/, {n} visitors × 1 msg/s", note="")
    r.seconds = await run_clients(lambda p, stop, mf, d: chat_client(p, site_key, qs, r, stats, stop, mf, paced=True, start_delay=d), n, secs, warm, ramp, ports, result=r)
    early = Result("", latencies=r.warmup_latencies)
    r.note = (
        f"send → bot reply, measured after {n} visitors arrived over {ramp:g} s and {warm:g} s of warm-up "
        f"(replies in those first {ramp + warm:g} s: p50 {early.pct(0.5) or 0:.0f} / p99 {early.pct(0.99) or 0:.0f} ms); "
        f"{stats.sessions} sessions, {stats.handed_over} handed to a person, {stats.timeouts} no reply in 10 s"
    )
    results.append(r)

    print("chat, saturated …", file=sys.stderr)
    stats = ChatStats()
    r = Result(f"chat turn /ws/chat/, {args.saturate} closed-loop visitors", note="")
    r.seconds = await run_clients(lambda p, stop, mf, d: chat_client(p, site_key, qs, r, stats, stop, mf, paced=False, start_delay=d), args.saturate, secs / 2, warm, 0.5, ports, result=r)
    r.note = f"saturated; {stats.handed_over} handed over, {stats.timeouts} no reply in 10 s"
    results.append(r)
    return results


async def rest_phases(args: argparse.Namespace, port: int, gunicorn_port: int | None, qs: list[str], servers: "Servers") -> list[Result]:
    results: list[Result] = []
    secs = args.seconds
    print("REST on daphne …", file=sys.stderr)
    results.append(await http_phase("GET /healthz (bare JSON view) on daphne", port, args.rest_conns, secs / 2, 1.0, chat=False, qs=qs))
    results.append(await http_phase("POST /api/v1/chat on daphne", port, args.rest_conns, secs / 2, 1.0, chat=True, qs=qs))
    if gunicorn_port:
        print("REST on gunicorn …", file=sys.stderr)
        # Warm both workers (each loads the models and trains the matcher once).
        await http_phase("warm", gunicorn_port, 4, 8.0, 0.0, chat=True, qs=qs)
        results.append(await http_phase(f"GET /healthz (bare JSON view) on gunicorn, {args.http_workers} sync workers", gunicorn_port, args.rest_conns, secs / 2, 1.0, chat=False, qs=qs))
        spy = servers.spy(args.spy_rest, secs / 2 + 1, pid=servers.gunicorn_pid, subprocesses=True) if args.spy_rest else None
        note = "--free-models: analysis and FAQ match memoised per text, no model cost" if args.free_models else ""
        results.append(await http_phase(f"POST /api/v1/chat on gunicorn, {args.http_workers} sync workers", gunicorn_port, args.rest_conns, secs / 2, 1.0, chat=True, qs=qs, note=note))
        if spy is not None:
            spy.wait()
    return results


def report(args: argparse.Namespace, results: list[Result], pipeline_ms: list[int]) -> str:
    mode = (
        f"production path: PostgreSQL + channels-redis, {args.ws_procs} {args.ws_server} process(es) for WebSockets"
        if args.production
        else "embedded: SQLite + in-memory channel layer, one daphne process"
    )
    lines = [
        f"Run: {time.strftime('%Y-%m-%d %H:%M')} · {mode} · {os.cpu_count()} cores (load average {args.load_before:.1f} before the run) · Python {platform.python_version()} · "
        f"{args.visitors} paced visitors, {args.saturate} closed-loop clients, {args.rest_conns} HTTP connections, {args.seconds:.0f} s per paced phase.",
        "",
        "| phase | p50 ms | p99 ms | per s | measured | errors | server CPU ms each (+ PostgreSQL) | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        *[r.row() for r in results],
    ]
    if pipeline_ms:
        ordered = sorted(pipeline_ms)
        pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
        lines += ["", f"Pipeline time stored with each bot reply (analysis + FAQ match + decision, inside the server): p50 {pick(0.5)} ms, p99 {pick(0.99)} ms over {len(ordered):,} replies."]
    by_name = {r.name: r for r in results}

    def ratio(a: str, b: str) -> str:
        ra, rb = by_name.get(a), by_name.get(b)
        return f"{ra.rate / rb.rate:.0%}" if ra and rb and rb.rate else "—"

    lines += [
        "",
        f"REST chat / bare JSON view, same server: daphne {ratio('POST /api/v1/chat on daphne', 'GET /healthz (bare JSON view) on daphne')}"
        + (
            f", gunicorn {ratio(f'POST /api/v1/chat on gunicorn, {args.http_workers} sync workers', f'GET /healthz (bare JSON view) on gunicorn, {args.http_workers} sync workers')}"
            if args.production
            else ""
        )
        + ".",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--production", action="store_true", help="PostgreSQL + Redis (and gunicorn for REST) instead of the embedded stack")
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--saturate", type=int, default=40, help="closed-loop clients in the saturated phases")
    parser.add_argument("--rest-conns", type=int, default=32)
    parser.add_argument("--http-workers", type=int, default=2, help="gunicorn sync workers for the REST phases (--production)")
    parser.add_argument("--ws-procs", type=int, default=1, help="daphne processes serving WebSockets (clients are spread over them, as nginx would); needs --production for more than 1")
    parser.add_argument("--ws-server", choices=("daphne", "uvicorn"), default="daphne", help="the ASGI server for WebSockets (uvicorn: uvloop + websockets, installed separately)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per paced phase (saturated/REST phases take half)")
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds over which the paced chat visitors arrive (each opens a session, then sends)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds after the ramp before the paced chat phase is measured (the arrivals' backlog drains)")
    parser.add_argument("--only", default="", help="comma-separated phases to run: echo,group,chat,rest (default: all)")
    parser.add_argument("--spy", default="", help="profile the first daphne process with py-spy during the paced chat phase; writes collapsed stacks to this file")
    parser.add_argument("--spy-rest", default="", help="profile the gunicorn workers with py-spy during the REST chat phase; writes collapsed stacks to this file")
    parser.add_argument("--free-models", action="store_true", help="experiment: memoise analysis and FAQ match per question text in the gunicorn workers (bench/free_models.py), i.e. REST chat without model cost")
    parser.add_argument("--write", action="store_true", help="append the report to bench/results/chat.md")
    args = parser.parse_args()
    if args.seconds > 120 or args.visitors > 1000:
        parser.error("bounded on purpose: at most 120 s per phase and 1000 visitors")
    if (args.free_models or args.spy_rest) and not args.production:
        parser.error("--free-models and --spy-rest act on the gunicorn workers: use --production")
    if args.ws_procs > 1 and not args.production:
        parser.error("several daphne processes share messages only over Redis: use --production")

    args.load_before = os.getloadavg()[0]  # other work on the machine skews every number: say so
    servers = Servers(production=args.production)
    try:
        print(f"preparing {'PostgreSQL' if args.production else 'SQLite'} database with the demo data …", file=sys.stderr)
        site_key = servers.prepare()
        ports = [servers.daphne(args.ws_server) for _ in range(args.ws_procs)]
        gunicorn_port = servers.gunicorn(args.http_workers, free_models=args.free_models) if args.production else None
        global CPU_DB
        CPU_PIDS[:] = [proc.pid for proc in servers.procs]
        CPU_DB = servers.db_name if args.production else ""
        results = asyncio.run(measure(args, servers, site_key, ports, gunicorn_port))
        text = report(args, results, servers.server_latencies())
    finally:
        servers.close()
    print(text)
    if args.write:
        path = ROOT / "bench" / "results" / "chat.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        header = "" if path.exists() else "# Live chat load (bench/chat_load.py)\n"
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"{header}\n## {'Production path' if args.production else 'Embedded'} run\n\n{text}\n")


if __name__ == "__main__":
    main()
