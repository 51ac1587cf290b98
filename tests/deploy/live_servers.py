"""Real servers for the deployment checks, as tests/support and tests/redis start them for
the C++ tests: redis-server, PostgreSQL and tandem-server as children of the test, on free
ports of 127.0.0.1, in a private temp directory, stopped by PID (SIGTERM, then SIGKILL).
Nothing system-wide is started or changed."""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

POSTGRES_BIN = "/usr/lib/postgresql/15/bin"


class ServerError(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, condition, timeout, proc=None, log=None):
    """Polls `condition` until true; fails when the time runs out or `proc` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            raise ServerError(f"{what}: exited with {proc.returncode}\n{_tail(log)}")
        time.sleep(0.05)
    raise ServerError(f"{what}: not ready within {timeout} s\n{_tail(log)}")


def _tail(path, lines=30):
    if not path or not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as f:
        return "".join(f.readlines()[-lines:])


class Servers:
    """A context that owns every process it starts and a temp directory; leaving it stops
    them (in reverse order) and removes the directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-monitoring-")
        self.procs = []
        self.pg_user = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.pg_user = pwd.getpwnam("postgres")
            os.chown(self.dir, self.pg_user.pw_uid, self.pg_user.pw_gid)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for proc, stop_signal in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(stop_signal)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _spawn(self, argv, log_name, env=None, as_postgres=False, stop_signal=signal.SIGTERM):
        log = os.path.join(self.dir, log_name)
        extra = {}
        if as_postgres and self.pg_user:
            extra = {"user": self.pg_user.pw_uid, "group": self.pg_user.pw_gid,
                     "extra_groups": []}
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                    stdin=subprocess.DEVNULL, cwd=self.dir, **extra)
        self.procs.append((proc, stop_signal))
        return proc, log

    def redis(self):
        """A redis-server without persistence; its URL."""
        port = free_port()
        proc, log = self._spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--dir", self.dir],
                                "redis.log")

        def pong():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False
        wait_until("redis-server", pong, 15, proc, log)
        return f"redis://127.0.0.1:{port}/0"

    def postgres(self):
        """A fresh PostgreSQL 15 cluster (trust auth, fsync off); its URL."""
        data = os.path.join(self.dir, "pgdata")
        init, log = self._spawn([f"{POSTGRES_BIN}/initdb", "-D", data, "-A", "trust", "-U",
                                 "postgres", "-E", "UTF8", "--locale=C", "-N"],
                                "initdb.log", as_postgres=True)
        if init.wait(timeout=120) != 0:
            raise ServerError(f"initdb failed\n{_tail(log)}")
        port = free_port()
        # SIGINT is PostgreSQL's fast shutdown.
        proc, log = self._spawn([f"{POSTGRES_BIN}/postgres", "-D", data, "-p", str(port), "-k",
                                 self.dir, "-c", "listen_addresses=127.0.0.1",
                                 "-c", "fsync=off", "-c", "max_connections=20"],
                                "postgres.log", as_postgres=True, stop_signal=signal.SIGINT)

        def accepts():
            return subprocess.run([f"{POSTGRES_BIN}/pg_isready", "-q", "-h", "127.0.0.1", "-p",
                                   str(port), "-U", "postgres"], check=False).returncode == 0
        wait_until("postgres", accepts, 60, proc, log)
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def tandem(self, binary, name, env):
        """tandem-server on a free port with `env` added; its port once it listens."""
        data_dir = os.path.join(self.dir, f"data-{name}")
        os.mkdir(data_dir)
        full = dict(os.environ, PORT="0", HOST="127.0.0.1", LOG_LEVEL="info", NODE_ID=name,
                    DATA_DIR=data_dir, **env)
        proc, log = self._spawn([os.path.abspath(binary)], f"{name}.log", env=full)
        port = []

        def listening():
            with open(log, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if '"listening"' in line:
                        port.append(json.loads(line)["port"])
                        return True
            return False
        wait_until(f"tandem-server {name}", listening, 60, proc, log)
        return port[0]


def scrape(port, path="/metrics"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read().decode("utf-8")


def wait_ready(port, timeout=30):
    """Waits until GET /ready answers 200 (a cluster node: both Redis links up)."""
    def ready():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as r:
                return r.status == 200
        except OSError:  # 503 (HTTPError) or no answer yet
            return False
    wait_until(f"GET /ready on :{port}", ready, timeout)
