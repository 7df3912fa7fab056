"""A real PostgreSQL server for the tests, started from the machine's own server binaries
(Debian's `postgresql` package, which .ci/run installs): a fresh cluster in a temporary folder,
spoken to over 127.0.0.1 as the PCs of a station speak to theirs. No mock: the PostgreSQL store
(issue 15) must be proved against the server it will meet.

    server = PgServer().start()          # initdb + pg_ctl start -w: about 0.6 s
    server.url("postgres")               # postgresql://postgres@127.0.0.1:PORT/postgres
    with server.fresh_database("name") as url: ...   # CREATE DATABASE, dropped after
    server.restart()                     # stop -m fast + start, the same data
    server.log()                         # the server's own log, for failure messages
    server.stop()                        # also on interpreter exit

The server refuses to run as root, and CI runs as root: then initdb, pg_ctl and so the server
run as an existing unprivileged user (`postgres`, else `nobody`) through `setpriv`, in a folder
that user owns (0700). setpriv rather than runuser: it only changes ids and execs, with no PAM
session to open (runuser's), nothing logged, nothing asked of the machine's PAM configuration.

Needs psycopg only for create/drop of databases; finding and starting the server needs nothing
but the binaries. Imports nothing from Cabin (a helper of the tests, importable by basename).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres")
SUPERUSER = "postgres"
PASSWORD_ROLE = "cabin_password_test"  # signs in with a password (scram), never trusted
REJECTED_ROLE = "cabin_not_let_in"      # pg_hba.conf rejects it
# the users the server may run as when the tests run as root, preferred first
UNPRIVILEGED_USERS = ("postgres", "nobody")
COMMAND_TIMEOUT = 120  # seconds; pg_ctl -w has its own (-t) below it


class ServerNotFound(Exception):
    """No folder with initdb, pg_ctl and postgres: the message says where the search looked."""


class ServerError(Exception):
    """initdb or pg_ctl failed: the message carries their output and the server's log."""


def _has_server(folder: Path) -> bool:
    return all(os.access(folder / name, os.X_OK) for name in SERVER_PROGRAMS)


def _version_key(folder: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/15/bin -> (15,): newest first, 9.6 below 10
    return tuple(int(n) for n in re.findall(r"\d+", folder.parent.name)) or (0,)


def find_bindir() -> Path:
    """The folder of the server binaries: `pg_config --bindir`, then `initdb` on PATH, then
    Debian's /usr/lib/postgresql/*/bin newest first. pg_config alone is not trusted: Debian's
    libpq-dev ships one that names a server folder that may not be installed."""
    looked: list[str] = []
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=30)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    else:
        looked.append("no pg_config on PATH")
    initdb = shutil.which("initdb")
    if initdb:
        # a symlink (/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb) leads to the
        # folder where pg_ctl and postgres of the same version are
        candidates.append(Path(os.path.realpath(initdb)).parent)
    else:
        looked.append("no initdb on PATH")
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    candidates += debian
    if not debian:
        looked.append("nothing in /usr/lib/postgresql/*/bin")
    for folder in candidates:
        if _has_server(folder):
            return folder
        looked.append(f"{folder} lacks one of {', '.join(SERVER_PROGRAMS)}")
    raise ServerNotFound("; ".join(looked) + " (Debian: apt-get install postgresql)")


def server_user() -> pwd.struct_passwd | None:
    """Whom the server runs as: None (this process's user) unless this process is root."""
    if os.geteuid() != 0:
        return None
    for name in UNPRIVILEGED_USERS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise ServerError(f"running as root, and none of the users {UNPRIVILEGED_USERS} exists to run "
                      "PostgreSQL as (it refuses root)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, bindir: Path | None = None):
        self.bindir = bindir or find_bindir()
        self.user = server_user()
        self.folder: Path | None = None
        self.port: int | None = None
        self.seconds: dict[str, float] = {}  # initdb, start: what the start-up cost
        self._names = itertools.count(1)

    # -- the cluster's life ------------------------------------------------------------------

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    @property
    def running(self) -> bool:
        return self.folder is not None and (self.data / "postmaster.pid").exists()

    def start(self) -> PgServer:
        # /tmp rather than pytest's own folders: the server's user must reach the folder (pytest's
        # are 0700 root's), and the unix socket's path must stay within about 100 bytes
        self.folder = Path(tempfile.mkdtemp(prefix="cabin-pg-", dir="/tmp"))
        atexit.register(self.stop)  # a session that dies in a test still takes its server down
        if self.user is not None:
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.folder, 0o700)
        try:
            self._create_and_start()
        except BaseException:
            self.stop()  # no half-made cluster left in /tmp, no server left running
            raise
        return self

    def _create_and_start(self) -> None:
        began = time.monotonic()
        # trust: the tests connect without passwords, on a socket in a 0700 folder and on
        # 127.0.0.1 only. --no-sync and the C locale: a faster initdb, and collation that
        # does not depend on the locales this machine happens to have. UTF8: the records are Chinese.
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")
        self.seconds["initdb"] = time.monotonic() - began
        self.port = free_port()
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# Cabin's tests (tests/pgserver.py)\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.folder}'\n"
                # fsync off: a test's data need not survive a power cut of this machine, and the
                # suite's many CREATE/DROP DATABASE would otherwise wait on the disk. What the
                # store relies on (crash recovery of a killed server process, restarts) does not
                # depend on it: the operating system keeps the written pages.
                "fsync = off\n"
            )
        # two accounts only the refusals at connect are tested with (tests/queue/test_pgstore.py):
        # the first match wins, so these come before initdb's trust lines
        hba = self.data / "pg_hba.conf"
        hba.write_text(f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
                       f"host all {REJECTED_ROLE} 127.0.0.1/32 reject\n" + hba.read_text(encoding="utf-8"),
                       encoding="utf-8")
        began = time.monotonic()
        self._pg_ctl_start()
        self.seconds["start"] = time.monotonic() - began

    def restart(self) -> None:
        """A fast stop (open connections are ended, as in a server's restart mid-day) and a
        start on the same data, address and port."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "-s")
        self._pg_ctl_start()

    def stop(self) -> None:
        """Idempotent: the fixture's teardown and the interpreter's exit may both call it."""
        if self.folder is None:
            return
        atexit.unregister(self.stop)
        if self.running:
            try:
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "-s")
            except (ServerError, subprocess.TimeoutExpired):
                self._kill_postmaster()
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])

    def _kill_postmaster(self) -> None:
        # pg_ctl could not stop it: SIGQUIT is PostgreSQL's immediate shutdown, then no mercy
        with contextlib.suppress(OSError, ValueError):
            pid = self.postmaster_pid()
            os.kill(pid, signal.SIGQUIT)
            time.sleep(1)
            os.kill(pid, signal.SIGKILL)

    def _pg_ctl_start(self) -> None:
        self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log_file), "-w", "-t", "60", "-s")

    def _run(self, program: str, *args: str) -> None:
        argv = [str(self.bindir / program), *args]
        if self.user is not None:
            argv = ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}",
                    "--clear-groups", "--", *argv]
        # PG* variables of whoever runs the tests (PGDATA, PGPORT, ...) must not steer this cluster
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        done = subprocess.run(argv, cwd=self.folder, env=env, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT)
        if done.returncode != 0:
            raise ServerError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
                              f"\n--- server log ---\n{self.log()}")

    # -- what the tests use --------------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        """A libpq URL: what CABIN_DB will hold on a station's PC."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def log_size(self) -> int:
        with contextlib.suppress(OSError, TypeError):  # TypeError: stopped, no folder
            return self.log_file.stat().st_size
        return 0

    def log(self, since: int = 0, last_lines: int = 80) -> str:
        """The server's log from byte `since`, its last lines: a test's failure message shows
        what the server said (a FATAL, a deadlock, a terminated backend)."""
        try:
            with open(self.log_file, "rb") as f:
                f.seek(since)
                text = f.read().decode("utf-8", "replace")
        except (OSError, TypeError):  # TypeError: stopped, no folder
            return "(no server log)"
        return "\n".join(text.splitlines()[-last_lines:])

    def create_database(self, label: str = "") -> str:
        import psycopg
        from psycopg import sql

        # unique within this server, readable in the log; PostgreSQL cuts names at 63 bytes
        name = f"t{next(self._names)}_{re.sub(r'[^a-z0-9]+', '_', label.lower())}"[:63].rstrip("_")
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        # FORCE ends the connections a test left open, which would otherwise refuse the drop
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    @contextlib.contextmanager
    def fresh_database(self, label: str = ""):
        """The URL of a database of its own, empty as template1 is, dropped afterwards."""
        name = self.create_database(label)
        try:
            yield self.url(name)
        finally:
            if self.running:  # a test that stopped the server has nothing left to drop
                self.drop_database(name)

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
