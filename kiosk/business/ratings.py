"""Citizens' ratings (好差评) of completed errands. Textual-free.

A rating belongs to one errand — its request, service, window, clerk and completion time, taken
from the queue's `done` event — never to a person: no name, no ID number, no ticket. The citizen
rates the errand last completed at a window in the national five levels (LEVELS: 1 非常满意 ...
5 非常不满意); 不满意 or worse needs a reason, a code of [ratings] reasons. An errand is rated
once; one not rated within [ratings] timeout_seconds of its completion is recorded as 未评价
(level NULL) by `settle`, which every rating and every read of the ratings runs first. A bad
rating waits in `list_ratings(bad=True)` until a supervisor records its follow-up (整改) with a
note. Ratings, 未评价 and follow-ups are audited (actor None: the citizen, or the station's clock).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from cabin.queue.clock import SystemClock, local_day
from cabin.queue.conflicts import rerun_on_conflict
from cabin.queue.errors import CabinError

from cabin.kiosk.business import audit
from cabin.kiosk.business.accounts import Account, check_actor
from cabin.kiosk.checks import clean_required

LEVELS = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}
UNRATED = "未评价"
SATISFIED = (1, 2, 3)   # 满意率: these levels of the rated errands
NEEDS_REASON = (4, 5)   # and these are the bad ratings a supervisor follows up
SETTLED = "ratings_settled_event"  # meta: every `done` event up to this id has its rating


@dataclass(frozen=True)
class Rating:
    id: int
    request_id: int
    day: str
    service: str
    window: int
    clerk: str | None
    completed_at: int
    recorded_at: int
    level: int | None          # None: 未评价
    reason: str | None
    follow_up_note: str | None
    followed_up_by: str | None
    followed_up_at: int | None

    @property
    def bad(self) -> bool:
        return self.level in NEEDS_REASON

    def public(self) -> dict:
        return {"kind": "rating", **asdict(self), "level_text": LEVELS.get(self.level, UNRATED),
                "unrated": self.level is None, "bad": self.bad}


# the errands past their timeout without a rating: (mark, cutoff) -> what settle records 未评价
_UNSETTLED = ('SELECT e.request_id, e.day, e.service, e."window", e.clerk, e.at FROM events e'
              " WHERE e.id > ? AND e.kind = 'done' AND e.at <= ? AND e.request_id IS NOT NULL"
              " AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.request_id = e.request_id)")
# the settled mark before the first settle: the last event of the days before (see _settled_mark)
_FIRST_MARK = "SELECT CAST(coalesce(max(id), 0) AS TEXT) FROM events WHERE day < ?"

_COLUMNS = ('id, request_id, day, service, "window", clerk, completed_at, recorded_at, level, reason,'
            " follow_up_note, followed_up_by, followed_up_at")


class Ratings:
    def __init__(self, store, config, clock=None):
        """`store`: the station's store (cabin.kiosk.station); `config`: its [ratings] and windows."""
        self.store = store
        self.config = config
        self.reasons = dict(config.ratings.reasons)
        self.timeout_ms = config.ratings.timeout_seconds * 1000
        self.clock = clock or SystemClock(config.station.tz)

    # -- rating an errand ---------------------------------------------------------------------
    @rerun_on_conflict
    def record(self, window: int, level: int, reason: str | None = None) -> Rating:
        """The citizen's rating of the errand last completed at `window`."""
        self._check(window, level, reason)
        with self.store.write() as conn:
            now = self.clock.now_ms()
            self._settle(conn, now)
            done = conn.execute('SELECT request_id, day, service, clerk, at FROM events'
                                ' WHERE kind = \'done\' AND "window" = ? ORDER BY id DESC LIMIT 1', [window]).fetchone()
            if done is None:
                raise CabinError("no errand has been completed at window {window} yet", window=window)
            request_id, day, service, clerk, completed_at = done
            rated = conn.execute("SELECT level FROM ratings WHERE request_id = ?", [request_id]).fetchone()
            # past the timeout: recorded 未评价 just now, or completed before ratings existed
            if (rated is not None and rated[0] is None) or completed_at <= now - self.timeout_ms:
                raise CabinError("the errand last completed at window {window} was completed more than {seconds} s"
                                 " ago: it can no longer be rated", window=window, seconds=self.timeout_ms // 1000)
            if rated is not None:
                raise CabinError("the errand last completed at window {window} is rated already", window=window)
            rating_id = conn.execute(
                'INSERT INTO ratings (request_id, day, service, "window", clerk, completed_at, recorded_at, level, reason)'
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                [request_id, day, service, window, clerk, completed_at, now, level, reason]).fetchone()[0]
            audit.record(conn, None, "rating.record", f"rating {rating_id}",
                         {"request": request_id, "window": window, "level": level, "reason": reason}, at=now)
            return self._get(conn, rating_id)

    def _check(self, window: int, level: int, reason: str | None) -> None:
        if window not in self.config.windows:
            raise CabinError("there is no window {window} (windows: {windows})",
                             window=window, windows=", ".join(map(str, sorted(self.config.windows))))
        if isinstance(level, bool) or level not in LEVELS:
            raise CabinError("a rating's level is 1 (very satisfied) to 5 (very dissatisfied), not {level}",
                             level=audit.printable(str(level)))
        if reason is not None and reason not in self.reasons:
            raise CabinError('unknown rating reason "{reason}" (reasons: {reasons})',
                             reason=audit.printable(reason), reasons=", ".join(self.reasons))
        if level in NEEDS_REASON and reason is None:
            raise CabinError("a rating of {level} needs a reason (reasons: {reasons})",
                             level=level, reasons=", ".join(self.reasons))

    # -- 未评价 -------------------------------------------------------------------------------
    @rerun_on_conflict
    def settle(self) -> int:
        """Record 未评价 for every errand completed more than the timeout ago without a rating;
        how many were recorded."""
        with self.store.write() as conn:
            return self._settle(conn, self.clock.now_ms())

    def _settle(self, conn, now: int) -> int:
        # Only `done` events past the mark are looked at, so a rating costs the same on the
        # thousandth day; the mark stops before the first errand still within its timeout.
        cutoff = now - self.timeout_ms
        mark = self._settled_mark(conn, now)
        unrated = [row[0] for row in conn.execute(
            'INSERT INTO ratings (request_id, day, service, "window", clerk, completed_at, recorded_at)'
            f' SELECT u.request_id, u.day, u.service, u."window", u.clerk, u.at, ? FROM ({_UNSETTLED}) u'
            " RETURNING request_id", [now, mark, cutoff]).fetchall()]
        waiting = conn.execute("SELECT min(id) FROM events WHERE id > ? AND kind = 'done' AND at > ?",
                               [mark, cutoff]).fetchone()[0]
        new_mark = waiting - 1 if waiting is not None else conn.execute(
            "SELECT coalesce(max(id), ?) FROM events WHERE id > ?", [mark, mark]).fetchone()[0]
        if new_mark != mark:
            conn.execute("UPDATE meta SET value = ? WHERE key = ?", [str(new_mark), SETTLED])
        if unrated:
            audit.record(conn, None, "rating.unrated", None, {"requests": sorted(unrated)}, at=now)
        return len(unrated)

    def _settled_mark(self, conn, now: int) -> int:
        """Every `done` event up to this id has its rating. Set at the first settle (not by the
        migration: a new station's database holds no row until it is used) to the last event
        before today, so an upgraded station's past days, which had no rating screen, are not
        counted 未评价."""
        row = conn.execute("SELECT value FROM meta WHERE key = ?", [SETTLED]).fetchone()
        if row is not None:
            return int(row[0])
        first = conn.execute(_FIRST_MARK, [local_day(now, self.config.station.tz)]).fetchone()[0]
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", [SETTLED, first])
        return int(first)

    # -- follow-up (整改) ------------------------------------------------------------------------
    @rerun_on_conflict
    def record_follow_up(self, rating_id: int, note: str, *, by: Account) -> Rating:
        """A supervisor's follow-up of a bad rating, with what was done about it."""
        note = clean_required(note, "follow-up note", max_length=1000)
        with self.store.write() as conn:
            actor = check_actor(conn, by, "supervisor").name
            now = self.clock.now_ms()
            rating = self._get(conn, rating_id)
            if not rating.bad:
                raise CabinError("rating {rating_id} is not a bad rating (dissatisfied or very dissatisfied):"
                                 " it needs no follow-up", rating_id=rating_id)
            if rating.followed_up_at is not None:
                raise CabinError("rating {rating_id} was followed up already, by {name}",
                                 rating_id=rating_id, name=rating.followed_up_by)
            conn.execute("UPDATE ratings SET follow_up_note = ?, followed_up_by = ?, followed_up_at = ? WHERE id = ?",
                         [note, actor, now, rating_id])
            audit.record(conn, actor, "rating.follow_up", f"rating {rating_id}", {"note": note}, at=now)
            return self._get(conn, rating_id)

    # -- reading ------------------------------------------------------------------------------
    def list_ratings(self, bad: bool = False) -> list[Rating]:
        """Every rating, oldest first, 未评价 settled first; `bad`: only the bad ratings not
        followed up yet (the supervisor's list)."""
        self.settle()
        with self.store.read() as conn:
            if bad:
                return awaiting_follow_up(conn)
            return [Rating(*row) for row in conn.execute(f"SELECT {_COLUMNS} FROM ratings ORDER BY id")]

    @staticmethod
    def _get(conn, rating_id: int) -> Rating:
        row = conn.execute(f"SELECT {_COLUMNS} FROM ratings WHERE id = ?", [rating_id]).fetchone()
        if row is None:
            raise CabinError("there is no rating {rating_id}", rating_id=rating_id)
        return Rating(*row)


def awaiting_follow_up(conn) -> list[Rating]:
    """The bad ratings not followed up yet, oldest first, read only: no settle (a 未评价 is never
    a bad rating), so a view that reads after every commit writes nothing itself (on a
    PostgreSQL server every write notifies, and the view would read again and again)."""
    return [Rating(*row) for row in conn.execute(
        f"SELECT {_COLUMNS} FROM ratings WHERE level >= 4 AND followed_up_at IS NULL ORDER BY id")]


def ratings_of_days(conn, config, days: list[str], now_ms: int | None = None) -> list[tuple]:
    """(day, service, window, clerk, level) of every rating of errands completed on `days`, read
    only: with `now_ms`, the errands past their timeout that the next settle will record 未评价
    count as such already (an export reads the ratings as they stand at its time)."""
    marks = ", ".join("?" * len(days))
    rows = [tuple(r) for r in conn.execute(
        f'SELECT day, service, "window", clerk, level FROM ratings WHERE day IN ({marks})', days)]
    if now_ms is not None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", [SETTLED]).fetchone()
        mark = row[0] if row else conn.execute(_FIRST_MARK, [local_day(now_ms, config.station.tz)]).fetchone()[0]
        cutoff = now_ms - config.ratings.timeout_seconds * 1000
        rows += [(day, service, window, clerk, None) for _, day, service, window, clerk, _ in conn.execute(
            _UNSETTLED, [int(mark), cutoff]) if day in days]
    return rows
