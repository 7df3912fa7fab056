"""The station store on a PostgreSQL server, beside queue/store.py (SQLite's).

Chosen by a URL where a database file would be named (kiosk/station.py: `--db`, CABIN_DB). psycopg
is imported here only, and nothing on the command line's start path imports this module unless the
station is on a server.

What it offers, in the SQLite store's terms:
- `write()`: one SERIALIZABLE transaction, committed or rolled back as a whole. SQLite serialises
  writers with a lock; PostgreSQL lets them run side by side and refuses (SQLSTATE 40001/40P01)
  the one that would break serial order. write() cannot re-run its body, so such a refusal is a
  Conflict (a StoreError saying to try again): the engine's operations and the counter's services
  run themselves again on it (queue/conflicts.py); `transaction(fn)` re-runs `fn` likewise.
- `read()`: a REPEATABLE READ, READ ONLY snapshot.
- Every committed write tells the faces: write() and transaction() send one NOTIFY on the
  station's channel right after their COMMIT, in the same round trip (the server runs both
  whatever becomes of the client; a failed COMMIT skips the NOTIFY); `wait_for_change()` (LISTEN,
  on a connection of its own) wakes on it, where SQLite's store polls `PRAGMA data_version`.
- The SQL the services run is written for sqlite3 with `?` placeholders: `PgConnection.execute`
  takes it unchanged where it is portable (see to_psycopg) and its rows are read by index or by
  column name as sqlite3.Row's are. `cursor.lastrowid` does not exist on PostgreSQL: an insert
  that needs its id says `RETURNING id`.
- A lost connection (the server restarted, the network gone, the backend killed) is Unreachable
  (a StoreError: "the database server cannot be reached"); the store connects again on its next
  use. TCP keepalives and a user timeout (KEEPALIVE) make a vanished network an error within
  about 16 s instead of the kernel's two hours. A transaction
  whose BEGIN finds the connection dead is begun again on a new one: nothing of it had been sent.
"""

from __future__ import annotations

import functools
import re
import threading
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus

from cabin.queue import conflicts
from cabin.queue.errors import Conflict, StoreError, Unreachable
from cabin.queue.migrations import migrations, MigrationSet, postgres_schema_versions

T = TypeVar("T")

# A server on the station's network answers a connect in milliseconds; waiting longer only makes a
# face slower to say it is offline (a listener's loss is found by KEEPALIVE, then one connect
# attempt: about 11 + 5 s; libpq takes 2 s at the least).
CONNECT_TIMEOUT_S = 5
# libpq's TCP settings unless the URL (or service file) says otherwise: an idle connection whose
# peer vanished (a window PC's cable pulled, the server's host gone) is found dead after
# 5 s + 3 probes 2 s apart; data sent and never acknowledged fails after 10 s (tcp_user_timeout,
# which Linux also lets end a keepalive's wait: above 11 s it would stretch it). Without them the
# listener of a board would wait on a dead socket for hours. Measured, a board's listener on a
# network cut off: Unreachable after 16-17 s (11 s, then a connect that times out after 5 s).
KEEPALIVE = {"keepalives": "1", "keepalives_idle": "5", "keepalives_interval": "2", "keepalives_count": "3",
             "tcp_user_timeout": "10000"}
TRANSACTION_RETRIES = 10
# write()'s isolation levels, by the name an operation asks for
ISOLATION_LEVELS = {"serializable": "SERIALIZABLE", "read committed": "READ COMMITTED"}
# SQLSTATEs after which the whole transaction may simply be run again
RETRYABLE = (errors.SerializationFailure, errors.DeadlockDetected)

# A refusal at connect comes from libpq as text only (no SQLSTATE): what the server said, in its
# lc_messages (English on a default server). What is not recognised stays "cannot be reached".
PASSWORD_REFUSED = re.compile(r"password authentication failed|role \"[^\"]*\" does not exist")
NO_DATABASE = re.compile(r"database \"[^\"]*\" does not exist")
NOT_LET_IN = re.compile(r"no pg_hba\.conf entry|pg_hba\.conf rejects connection")


def shown_url(url: str) -> str:
    """`url` as a message may show it: a libpq URL or key=value string without its password."""
    if "://" in url:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hosts = netloc.rpartition("@")
            netloc = f"{userinfo.partition(':')[0]}@{hosts}"
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(a connection string that cannot be read)"
    params.pop("password", None)
    return make_conninfo(**params)


def _database_name(url: str) -> str:
    try:
        return conninfo_to_dict(url).get("dbname") or "(the account's own)"
    except psycopg.ProgrammingError:
        return "(unreadable)"


def _password(url: str) -> str | None:
    try:
        return conninfo_to_dict(url).get("password") or None
    except psycopg.ProgrammingError:
        return None


@functools.lru_cache(maxsize=1024)
def to_psycopg(query: str) -> str:
    """sqlite3's `?` placeholders as psycopg's `%s`, and every literal `%` doubled (psycopg reads
    `%` everywhere in a query that has parameters, inside string literals too). A `?` inside a
    string literal, a quoted identifier or a comment is left as it is."""
    out = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch in "'\"":  # a literal or a quoted identifier; a doubled quote stays inside it
            end = i + 1
            while end < n:
                if query[end] == ch:
                    if end + 1 < n and query[end + 1] == ch:
                        end += 2
                        continue
                    break
                end += 1
            out.append(query[i:end + 1].replace("%", "%%"))
            i = end + 1
        elif query.startswith("--", i):
            end = query.find("\n", i)
            end = n if end < 0 else end
            out.append(query[i:end].replace("%", "%%"))
            i = end
        elif query.startswith("/*", i):
            end = query.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(query[i:end].replace("%", "%%"))
            i = end
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "%":
            out.append("%%")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class Row:
    """A row read by index, slice or column name (names as sqlite3.Row reads them: any case)."""

    __slots__ = ("_values", "_index")

    def __init__(self, values: tuple, index: dict[str, int]):
        self._values = values
        self._index = index

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                return self._values[self._index[key]]
            except KeyError:
                try:
                    return self._values[self._index[key.lower()]]
                except KeyError:
                    raise IndexError(f"No item with that key: {key}") from None  # as sqlite3.Row
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self):
        return iter(self._values)

    def __eq__(self, other) -> bool:
        return isinstance(other, Row) and self._values == other._values and self._index == other._index

    __hash__ = None

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values))!r})"


def rows(cursor):
    """psycopg row factory making Rows."""
    result = cursor.pgresult
    if result is None or not result.nfields:
        return tuple
    # the names straight from libpq's result: cursor.description builds a Column object per column,
    # 8 us a statement against 1 us, which every statement of a window's operation paid
    index: dict[str, int] = {}
    for i in range(result.nfields):
        index.setdefault(result.fname(i).decode(), i)  # the first of two same-named columns, as sqlite3.Row
    return lambda values: Row(tuple(values), index)


class PgConnection:
    """The connection a write, read or transaction hands out: `execute(sql, params)` with sqlite3's
    `?` placeholders, returning a psycopg cursor (fetchone, fetchall, iteration, rowcount)."""

    dialect = "postgresql"  # as the store's: the counter's services ask the connection they are given

    def __init__(self, raw: psycopg.Connection, channel: str):
        self.raw = raw
        self.channel = channel

    @property
    def in_transaction(self) -> bool:
        """As sqlite3.Connection's: inside a transaction not yet committed or rolled back."""
        return self.raw.info.transaction_status.name != "IDLE"

    def execute(self, query: str, params: Iterable = ()):
        # parameters always given, even none: the doubled `%` of to_psycopg is then read as one
        return self.raw.cursor().execute(to_psycopg(query), tuple(params))

    def executemany(self, query: str, seq_of_params: Iterable[Iterable]):
        cur = self.raw.cursor()
        cur.executemany(to_psycopg(query), [tuple(p) for p in seq_of_params])
        return cur

    def notify_changed(self) -> None:
        """Wake every listener (wait_for_change) when this transaction commits; nothing if it
        rolls back. Nothing to do here: every write of PgStore notifies once as it commits
        (PgStore._notify_and_commit), and a second notification of the same write would wake
        the faces twice."""


class PgStore:
    dialect = "postgresql"  # the SQLite store's is "sqlite": where SQL must differ, it asks this
    read_only = False  # an account without the grants is refused by the server, operation by operation

    def __init__(self, url: str, *, migration_sets: Iterable[MigrationSet] = (),
                 connect_timeout: int = CONNECT_TIMEOUT_S):
        """Connect to the PostgreSQL database at `url` (a libpq URL or key=value string: hosts,
        service files, TLS and passwords as libpq reads them) and apply the queue's migrations,
        then each of `migration_sets`. A message never shows the password (shown_url)."""
        self.url = url
        self.shown_url = shown_url(url)
        self.migration_sets: tuple[MigrationSet, ...] = (migrations, *migration_sets)
        self.connect_timeout = connect_timeout
        self.serialization_retries = 0  # transactions run again after 40001/40P01, since open
        self._lock = threading.RLock()
        self._conn: psycopg.Connection | None = None
        self._listener: psycopg.Connection | None = None
        self._channel: str | None = None
        self._listen_lock = threading.Lock()  # the listener is used by one waiter at a time
        self._missed = False  # the listener was lost: commits may have gone unheard since
        self._closed = False
        try:
            conn = self._connection()
            for mset in self.migration_sets:
                mset.apply_postgres(conn)
        except (errors.InsufficientPrivilege, errors.InvalidSchemaName):
            # an account without DDL (a window PC's, a board's) met a schema this Cabin must make or bring
            # up to date: the server's "permission denied for schema public" or "no schema has been selected to
            # create in" would not say so
            self.close()
            raise StoreError("the database {url} holds no station yet, or one made by an older Cabin, and this"
                             " account may not make or update its tables: run `cabin init` once with the database"
                             " owner's account (README: \"A station of several PCs\"), then start this one again",
                             url=self.shown_url) from None
        except psycopg.Error as exc:
            self.close()
            raise self._translate(exc) from None
        except BaseException:
            self.close()
            raise

    @property
    def where(self) -> str:
        """The store as a message names it: the URL without its password."""
        return self.shown_url

    def verify(self) -> None:
        """Nothing to do: the server checks its own pages (SQLite's store runs quick_check here)."""

    # -- connections --------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        if self._closed:
            raise StoreError("the database {url} was closed", url=self.shown_url)
        try:
            return psycopg.connect(self.url, autocommit=True, row_factory=rows,
                                   **self._connect_params())
        except psycopg.Error as exc:
            raise self._translate(exc, unreachable=True) from None

    def _connect_params(self) -> dict[str, object]:
        """KEEPALIVE and the connect timeout, but for what the URL or key=value string sets
        itself. (A service file's values for these are not seen here, and libpq lets these win
        over them: set them in the URL to change them.)"""
        try:
            given = conninfo_to_dict(self.url)
        except psycopg.ProgrammingError:
            given = {}
        params = {"connect_timeout": self.connect_timeout, **KEEPALIVE}
        return {k: v for k, v in params.items() if k not in given}

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
            if self._channel is None:
                # NOTIFY reaches the sessions of one database: the channel says which station's
                self._channel = f"cabin_changed_{self._conn.info.dbname}"[:63]
        return self._conn

    @property
    def channel(self) -> str:
        if self._channel is None:
            self._connection()
        return self._channel

    def _drop(self) -> None:
        """Forget a connection that failed: the next use connects again."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Close both connections; a waiter in wait_for_change ends its wait first (at most its
        timeout) and is then refused: a closed store connects no more."""
        self._closed = True
        with self._lock:
            self._drop()
        with self._listen_lock:
            self._drop_listener()

    def __enter__(self) -> "PgStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def schema_versions(self) -> dict[str, str | None]:
        """The latest applied migration of each set this store was opened with."""
        with self._lock:
            try:
                return postgres_schema_versions(self._connection(), self.migration_sets[1:])
            except psycopg.Error as exc:
                raise self._failed(exc) from None

    # -- transactions -------------------------------------------------------------------------

    def _begin(self, statement: str) -> psycopg.Connection:
        """BEGIN on the connection, or on a new one when the old one turns out dead: nothing of the
        transaction was sent, so beginning it again cannot do anything twice."""
        conn = self._connection()
        try:
            conn.execute(statement)
            return conn
        except psycopg.OperationalError as exc:
            if not conn.broken and not conn.closed:
                raise self._failed(exc) from None
            self._drop()
        conn = self._connection()
        try:
            conn.execute(statement)
        except psycopg.Error as exc:
            raise self._failed(exc) from None
        return conn

    def _end(self, conn: psycopg.Connection, statement: str) -> None:
        if not conn.closed and not conn.broken:
            conn.execute(statement)

    def _rollback(self, conn: psycopg.Connection) -> None:
        try:
            self._end(conn, "ROLLBACK")
        except psycopg.Error:
            self._drop()

    @contextmanager
    def _begun(self, begin: str, end: str = "COMMIT", *,
               pipelined: bool = False) -> Iterator[psycopg.Connection]:
        """A transaction begun with `begin`, ended with `end` when its block ends and rolled back
        when it raises; psycopg's errors become StoreErrors (Conflict for 40001/40P01).

        pipelined: the block's statements go in psycopg's pipeline mode, sent without waiting for
        an answer until one is read (a fetch) or the block ends: statements whose result nobody
        reads (the updates, the events) share a round trip with the next. An error is raised
        where the next answer is read, at the latest as the block ends, before `end`: for a block
        that reads no rowcount (the engine's operations; see write). `end` is sent after the
        pipeline, as a statement of its own (it may be several, which a pipeline cannot send)."""
        with self._lock:
            conn = self._begin(begin)
            try:
                if pipelined:
                    with conn.pipeline():
                        yield conn
                else:
                    yield conn
                self._end_block(conn, end)
            except psycopg.Error as exc:
                self._rollback(conn)
                raise self._failed(exc) from None
            except BaseException:
                self._rollback(conn)
                raise

    def _end_block(self, conn: psycopg.Connection, end: str | sql.Composed) -> None:
        """Run `end`. Should a write's COMMIT take effect and only the NOTIFY after it fail (the
        session is then inside that second, aborted transaction), the write stands and is said
        to have: reporting it failed would have the clerk do it twice. The wake-up alone is lost,
        which the faces' periodic read makes good."""
        try:
            conn.execute(end)
        except psycopg.Error:
            if end is not self._notify_and_commit or conn.info.transaction_status != TransactionStatus.INERROR:
                raise
            conn.execute("ROLLBACK")

    @contextmanager
    def write(self, isolation: str = "serializable", *, pipelined: bool = False) -> Iterator[PgConnection]:
        """One write transaction, SERIALIZABLE unless said otherwise: all of it is committed, or
        none of it.

        A serialization failure (another host changed the same rows at the same moment) is a
        Conflict, a StoreError saying to try again: a `with` body runs once, and a context manager
        cannot run it again (a generator context manager yields once; the with-statement has no
        loop). Use transaction(fn) where the work can be re-run.

        isolation="read committed" is for an operation that locks every row it decides on before
        it decides (SELECT ... FOR UPDATE, FOR UPDATE SKIP LOCKED): each statement then sees what
        others committed before it, and a row another host holds is waited for or passed over
        instead of failing the whole transaction at its end (the engine's call_next).

        pipelined: fewer round trips to the server (see _begun), for a body that reads no
        cursor's rowcount: an answer is there only once something is fetched after it.
        """
        if isolation not in ISOLATION_LEVELS:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATION_LEVELS)}, not {isolation!r}")
        with self._begun(f"BEGIN ISOLATION LEVEL {ISOLATION_LEVELS[isolation]}", self._notify_and_commit,
                         pipelined=pipelined) as conn:
            yield PgConnection(conn, self.channel)

    @contextmanager
    def read(self) -> Iterator[PgConnection]:
        """A consistent snapshot for several SELECTs (REPEATABLE READ, READ ONLY)."""
        with self._begun("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "ROLLBACK") as conn:
            yield PgConnection(conn, self.channel)

    def transaction(self, fn: Callable[[PgConnection], T], retries: int = TRANSACTION_RETRIES) -> T:
        """fn(conn) in one SERIALIZABLE transaction, run again from the start (up to `retries`
        more times, after a short random pause) when PostgreSQL refuses it for a serialization
        failure or a deadlock (SQLSTATE 40001/40P01): its result. Nothing of a refused run was
        kept, so running it again does nothing twice — but `fn` must have no effect outside the
        transaction (no printing, no device) and must read everything it decides on through conn.

        Why a function and not a `with` block: a with-statement runs its body once; its context
        manager may suppress an exception but cannot run the body again.

        A lost connection is not retried (whether a COMMIT that lost its answer took effect
        cannot be known): it is a StoreError, and the next use connects again."""
        runs = 0

        def once() -> T:
            nonlocal runs
            if runs:
                self.serialization_retries += 1
            runs += 1
            with self.write() as conn:
                return fn(conn)

        # the one loop that reruns an operation (queue/conflicts.py), the engine's and the services'
        return conflicts.rerun(once, times=retries, name="PgStore.transaction")

    # -- change notification ------------------------------------------------------------------

    @functools.cached_property
    def _notify_and_commit(self) -> sql.Composed:
        """How every write ends: its COMMIT, then a NOTIFY in a transaction of its own, in one
        round trip (no parameters: psycopg sends the statements as one query, which the server
        runs to its end whatever becomes of this client; an error in the COMMIT skips the rest,
        so a rolled-back write wakes nobody).

        Why not NOTIFY inside the write: a committing NOTIFY holds one lock of the whole server
        until its commit is on disk, so every writer's commits would be flushed one at a time
        (8 window processes, fsync on: 700-1,100 writes/s instead of 1,800-2,100). Its own
        little transaction commits without waiting for the disk (a lost notification is
        harmless: a crashed server drops every listener, and a listener that reconnects reads
        afresh), so the lock is held for microseconds."""
        return sql.SQL("COMMIT; BEGIN; SET LOCAL synchronous_commit TO off; NOTIFY {}; COMMIT").format(
            sql.Identifier(self.channel))

    def _drop_listener(self) -> None:
        self._missed = True
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _listening(self) -> psycopg.Connection:
        if self._listener is None or self._listener.closed:
            self._listener = self._connect()
            self._listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        return self._listener

    def listen(self) -> None:
        """Start listening now (wait_for_change does so on its first call): commits from then on
        are heard. A face calls it before it reads, so no commit after its read goes unheard."""
        with self._listen_lock:
            self._listen()
            self._missed = False  # the caller reads next

    def _listen(self) -> None:
        try:
            self._listening()
        except psycopg.Error as exc:
            self._drop_listener()
            raise self._translate(exc, unreachable=True) from None

    def wait_for_change(self, timeout: float, *, poll_seconds: float | None = None) -> bool:
        """True as soon as a write commits (any host, any store on this database: every write
        notifies), False after `timeout` seconds without one. Notifications that came meanwhile
        are all consumed by one call: a change wakes a board once, not once per commit.
        True as well when the listening connection was lost and made again: commits may have
        been missed, so the caller reads afresh; Unreachable while it cannot be made again.
        `poll_seconds` is SQLite's (Store.wait_for_change): here nothing is polled."""
        with self._listen_lock:
            try:
                listener = self._listening()
                if self._missed:  # listening again after a loss: what came meanwhile is to be read
                    self._missed = False
                    return True
                heard = any(True for _ in listener.notifies(timeout=timeout, stop_after=1))
                if heard:
                    for _ in listener.notifies(timeout=0):
                        pass
                return heard
            except psycopg.OperationalError:
                self._drop_listener()
                self._listen()  # raises Unreachable while the server cannot be reached
                self._missed = False
                return True
            except psycopg.Error as exc:
                raise self._translate(exc) from None

    def changes(self, timeout: float | None = None) -> Iterator[None]:
        """Yields once per wake-up of wait_for_change; ends after `timeout` s without a change
        (None: never)."""
        while True:
            if self.wait_for_change(3600 if timeout is None else timeout):
                yield None
            elif timeout is not None:
                return

    # -- errors -------------------------------------------------------------------------------

    def _failed(self, exc: psycopg.Error) -> StoreError:
        """The StoreError for `exc`, the connection dropped when it is no longer usable."""
        if self._conn is not None and (self._conn.broken or self._conn.closed):
            self._drop()
            return self._translate(exc, unreachable=True)
        return self._translate(exc)

    def _translate(self, exc: psycopg.Error, *, unreachable: bool = False) -> StoreError:
        """PostgreSQL's errors in words a clerk (or the person they call) can act on; the password
        never among them."""
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        password = _password(self.url)
        if password:
            why = why.replace(password, "***")
        url = self.shown_url
        if isinstance(exc, errors.InvalidPassword) or (unreachable and PASSWORD_REFUSED.search(why)):
            return StoreError("the database server refused the password or account for {url}", url=url)
        if unreachable and NO_DATABASE.search(why):
            return StoreError("the database server has no database {name} ({url}): check the name in the URL,"
                              " or have the server's administrator create it", name=_database_name(self.url),
                              url=url)
        if unreachable and NOT_LET_IN.search(why):
            return StoreError("the database server does not let this account in from this PC ({url}): its"
                              " administrator allows it in pg_hba.conf", url=url)
        if unreachable or isinstance(exc, (errors.AdminShutdown, errors.CannotConnectNow)):
            return Unreachable("the database server cannot be reached ({url}): {why}; check the network and that"
                               " the server is running, then try again", url=url, why=why)
        if isinstance(exc, RETRYABLE):
            return Conflict("the database {url} was changed by another window at the same moment: nothing was"
                              " written; try again", url=url)
        if isinstance(exc, (errors.LockNotAvailable, errors.QueryCanceled)):
            return StoreError("the database {url} is busy: try again", url=url)
        if isinstance(exc, (errors.ReadOnlySqlTransaction, errors.InsufficientPrivilege)):
            return StoreError("the database {url} refuses this change to this account: {why}", url=url, why=why)
        if isinstance(exc, psycopg.OperationalError):
            return Unreachable("the database server cannot be reached ({url}): {why}; check the network and that"
                               " the server is running, then try again", url=url, why=why)
        return StoreError("database error in {url}: {why}", url=url, why=why)
