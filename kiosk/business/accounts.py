"""Staff accounts: roles, scrypt passwords, lockout; every change in the audit log.

Roles are clerk, supervisor and admin. The first account on a database that has none must be an
admin, and creating it needs no authentication; every later add, every disable and every
password reset needs an authenticated admin (`by=`). Each change and its audit entry are one
write transaction.

Passwords: hashlib.scrypt with a random 16-byte salt per password and the parameters in
SCRYPT_PARAMS (n=2**14, r=8, p=1, 32-byte key; about 16 MiB and a few tens of ms per hash), stored
with the account so they can be raised later without invalidating old hashes; compared with
hmac.compare_digest.

Every failed sign-in — an unknown name, a wrong password, a locked or a disabled account — is
refused in the same words (SIGN_IN_REFUSED) and in about the same time (the password is hashed
whatever the cause, an unknown name against a dummy salt): whoever is at the keyboard cannot
tell a real name from an unknown one. The cause is in the audit log (login.failed with its
reason, account.locked), and an admin sees each account's state with `cabin user list`.

Lockout: LOCKOUT_FAILURES consecutive failed sign-ins lock the account for LOCKOUT_MINUTES;
while locked, every sign-in is refused, the right password too. The lock's start is in the audit
log; a successful sign-in or an admin's password reset clears the count. Time comes from the
clock given (anything with now_ms()), so tests set it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import unicodedata
from dataclasses import asdict, dataclass

from cabin.queue.clock import SystemClock
from cabin.queue.conflicts import rerun_on_conflict
from cabin.queue.errors import CabinError, Said

from cabin.kiosk.business import audit
from cabin.kiosk.business.sqldialect import nocase_equals

ROLES = ("clerk", "supervisor", "admin")
COUNTER_ROLES = ("clerk", "supervisor")  # who may act at a counter: accept, print, hand over, reveal
SCRYPT_PARAMS = {"alg": "scrypt", "n": 2 ** 14, "r": 8, "p": 1, "dklen": 32}
SALT_BYTES = 16
LOCKOUT_FAILURES = 5
LOCKOUT_MINUTES = 15
MIN_PASSWORD, MAX_PASSWORD = 8, 1024
MAX_NAME = 64
SIGN_IN_REFUSED = Said("wrong name or password, or the account cannot sign in now")


class SignInRefused(CabinError):
    """A refused sign-in, whatever its cause (see the module doc): the name may stand and the
    password be typed again, unlike a refusal of who signed (another role, the requester)."""


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    disabled: bool
    failed_attempts: int
    locked_until: int | None
    created_at: int

    def as_dict(self) -> dict:
        return asdict(self)


# -- passwords --------------------------------------------------------------------------------
def hash_password(password: str, salt: bytes | None = None, params: dict | None = None) -> tuple[bytes, bytes, dict]:
    """(hash, salt, params): a fresh random salt unless one is given."""
    params = dict(params or SCRYPT_PARAMS)
    if params.get("alg") != "scrypt":
        raise CabinError('unknown password hash "{alg}"', alg=params.get("alg"))
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    n, r, p, dklen = params["n"], params["r"], params["p"], params["dklen"]
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen,
                            maxmem=128 * r * (n + p + 2) + 1024 * 1024)
    return digest, salt, params


def password_matches(password: str, pw_hash: bytes, salt: bytes, params: dict) -> bool:
    return hmac.compare_digest(hash_password(password, salt, params)[0], pw_hash)


_DUMMY_SALT = secrets.token_bytes(SALT_BYTES)


def check_password_rules(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise CabinError("a password needs at least {n} characters", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise CabinError("a password has at most {n} characters", n=MAX_PASSWORD)
    if any(unicodedata.category(c) == "Cc" for c in password):
        raise CabinError("a password cannot contain control characters (tab, escape, newline ...)")


# -- names ----------------------------------------------------------------------------------
def normalise_name(name: str) -> str:
    """NFC, and refused if empty, too long, or holding spaces, control or format characters
    (a sign-in name must be typed and shown as it is). Any letter of any script is kept."""
    name = unicodedata.normalize("NFC", name or "")
    if not name:
        raise CabinError("an account name cannot be empty")
    if len(name) > MAX_NAME:
        raise CabinError("an account name has at most {n} characters", n=MAX_NAME)
    bad = [c for c in name if unicodedata.category(c)[0] in "CZ"]
    if bad:
        raise CabinError("an account name cannot contain spaces, control or invisible characters (found {found})",
                         found=audit.printable(repr(bad[0])))
    return name


def check_role(role: str) -> str:
    if role not in ROLES:  # the roles are named in the sentence, so a face can say each in its language
        raise CabinError('unknown role "{role}" (roles: clerk, supervisor, admin)', role=audit.printable(role))
    return role


# -- rows -----------------------------------------------------------------------------------
_COLUMNS = "id, name, role, disabled, failed_attempts, locked_until, created_at"


def _account(row) -> Account:
    return Account(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6])


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _name_key(name: str) -> str:
    """A name as the unique index compares it: ASCII letters folded, every other character kept
    ("Li" and "li" are one account, "É" and "é" two) — SQLite's NOCASE."""
    return name.translate(_ASCII_LOWER)


def _name_is(conn) -> str:
    """The WHERE clause finding an account by name as the database's unique index compares names:
    SQLite's NOCASE column, PostgreSQL's index on lower(name COLLATE "C") (sqldialect)."""
    return nocase_equals(conn, "name")


def _row(conn: sqlite3.Connection, name: str):
    return conn.execute(f"SELECT {_COLUMNS}, pw_hash, pw_salt, pw_params FROM accounts WHERE {_name_is(conn)}",
                        [name]).fetchone()


def check_actor(conn: sqlite3.Connection, actor: Account, *roles: str) -> Account:
    """Inside a transaction: the acting account as it is now (still there, not disabled, and in
    one of `roles` if any are named). For any operation attributed to an account."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM accounts WHERE id = ?", [actor.id]).fetchone()
    if row is None:
        raise CabinError("the account {name} no longer exists", name=actor.name)
    current = _account(row)
    if current.disabled:
        raise CabinError("the account {name} is disabled", name=current.name)
    if roles and current.role not in roles and len(roles) == 2:
        raise CabinError("{name} is a {role}: this needs {one} or {other}",
                         name=current.name, role=current.role, one=roles[0], other=roles[1])
    if roles and current.role not in roles:  # one role (or, never so far, all three)
        raise CabinError("{name} is a {role}: this needs {needed}",
                         name=current.name, role=current.role, needed=" or ".join(roles))
    return current


class Accounts:
    def __init__(self, store, clock=None):
        """`store`: the station's store, as cabin.kiosk.station opens it (with the counter's tables)."""
        self.store = store
        self.clock = clock or SystemClock()

    # -- reading ------------------------------------------------------------------------------
    def count(self) -> int:
        with self.store.read() as conn:
            return conn.execute("SELECT count(*) FROM accounts").fetchone()[0]

    def get(self, name: str) -> Account:
        with self.store.read() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM accounts WHERE {_name_is(conn)}",
                               [unicodedata.normalize("NFC", name or "")]).fetchone()
        if row is None:
            raise CabinError("there is no account {name}", name=audit.printable(name))
        return _account(row)

    def list(self) -> list[Account]:
        with self.store.read() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM accounts").fetchall()
        # sorted as the NOCASE column sorts, not by a PostgreSQL database's locale
        return [_account(r) for r in sorted(rows, key=lambda r: _name_key(r[1]))]

    # -- signing in -----------------------------------------------------------------------------
    def authenticate(self, name: str, password: str) -> Account:
        """The account, if the name and password match and it is neither locked nor disabled;
        else SignInRefused, in the same words for each cause. Every attempt is in the audit log
        (login, or login.failed with the cause)."""
        key = unicodedata.normalize("NFC", name or "")
        with self.store.read() as conn:
            row = _row(conn, key)
        # The hash is worked out whatever the cause of a refusal (the same time for each), and
        # before the write lock is taken: other windows do not wait on it.
        if row is None:
            hash_password(password or "", _DUMMY_SALT)
            ok = False
        else:
            ok = password_matches(password or "", row[7], row[8], json.loads(row[9]))
        account = self._signed_in(key, ok)
        if account is None:
            raise SignInRefused(SIGN_IN_REFUSED)
        return account

    @rerun_on_conflict
    def _signed_in(self, key: str, ok: bool) -> Account | None:
        """The sign-in's outcome written: the account if `ok` (the password matched) and it may sign
        in, else None; the audit entry either way. One transaction, run again on a conflict."""
        account = None
        with self.store.write() as conn:
            now = self.clock.now_ms()
            current = _row(conn, key)
            if current is None:
                audit.record(conn, None, "login.failed", key[:MAX_NAME + 16], {"reason": "unknown name"}, at=now)
            elif current[5] is not None and current[5] > now:
                audit.record(conn, None, "login.failed", current[1], {"reason": "locked"}, at=now)
            elif not ok:
                failures = current[4] + 1
                if failures >= LOCKOUT_FAILURES:
                    conn.execute("UPDATE accounts SET failed_attempts = 0, locked_until = ?, updated_at = ? WHERE id = ?",
                                 [now + LOCKOUT_MINUTES * 60_000, now, current[0]])
                else:
                    conn.execute("UPDATE accounts SET failed_attempts = ?, updated_at = ? WHERE id = ?",
                                 [failures, now, current[0]])
                audit.record(conn, None, "login.failed", current[1], {"reason": "wrong password", "failed_attempts": failures},
                             at=now)
                if failures >= LOCKOUT_FAILURES:
                    audit.record(conn, None, "account.locked", current[1],
                                 {"failed_attempts": failures, "minutes": LOCKOUT_MINUTES}, at=now)
            elif current[3]:
                audit.record(conn, None, "login.failed", current[1], {"reason": "disabled"}, at=now)
            else:
                conn.execute("UPDATE accounts SET failed_attempts = 0, locked_until = NULL,"
                             " updated_at = CASE WHEN failed_attempts = 0 AND locked_until IS NULL THEN updated_at ELSE ? END"
                             " WHERE id = ?", [now, current[0]])
                audit.record(conn, current[1], "login", current[1], None, at=now)
                account = _account(conn.execute(f"SELECT {_COLUMNS} FROM accounts WHERE id = ?", [current[0]]).fetchone())
        return account

    # -- changes --------------------------------------------------------------------------------
    def add(self, name: str, role: str, password: str, *, by: Account | None = None) -> Account:
        """A new account. `by` is the authenticated admin; None only for the first account on a
        database with none, which must be an admin."""
        name = normalise_name(name)
        check_role(role)
        check_password_rules(password)
        pw_hash, salt, params = hash_password(password)

        @rerun_on_conflict
        def inserted():
            with self.store.write() as conn:
                now = self.clock.now_ms()
                if by is None:
                    if conn.execute("SELECT count(*) FROM accounts").fetchone()[0]:
                        raise CabinError("the database has accounts already: an admin must add new ones")
                    if role != "admin":
                        raise CabinError("the first account must be an admin (--role admin)")
                    actor = None
                else:
                    actor = check_actor(conn, by, "admin").name
                if _row(conn, name) is not None:
                    raise CabinError("there is already an account {name}", name=name)
                account_id = conn.execute(
                    "INSERT INTO accounts (name, role, pw_hash, pw_salt, pw_params, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    [name, role, pw_hash, salt, json.dumps(params), now, now]).fetchone()[0]
                audit.record(conn, actor, "account.add", name, {"role": role, "first_account": by is None}, at=now)
                return _account(conn.execute(f"SELECT {_COLUMNS} FROM accounts WHERE id = ?", [account_id]).fetchone())
        return inserted()

    def passwd(self, name: str, new_password: str, *, old_password: str | None = None,
               by: Account | None = None) -> Account:
        """Change a password: the account's own, with `old_password` (a sign-in attempt, counted
        towards lockout), or anyone's reset by an admin (`by`), which also clears a lockout."""
        if (old_password is None) == (by is None):
            raise CabinError("a password is changed either with the old one or by an admin")
        check_password_rules(new_password)
        if by is None:
            self_account = self.authenticate(name, old_password)
        pw_hash, salt, params = hash_password(new_password)

        @rerun_on_conflict
        def changed():
            with self.store.write() as conn:
                now = self.clock.now_ms()
                if by is None:
                    actor = check_actor(conn, self_account).name
                    target = self_account.name
                else:
                    actor = check_actor(conn, by, "admin").name
                    row = _row(conn, unicodedata.normalize("NFC", name or ""))
                    if row is None:
                        raise CabinError("there is no account {name}", name=audit.printable(name))
                    target = row[1]
                conn.execute("UPDATE accounts SET pw_hash = ?, pw_salt = ?, pw_params = ?, failed_attempts = 0,"
                             " locked_until = NULL, updated_at = ? WHERE name = ?",
                             [pw_hash, salt, json.dumps(params), now, target])
                audit.record(conn, actor, "account.passwd", target, {"by": "self" if by is None else "admin"}, at=now)
                return _account(conn.execute(f"SELECT {_COLUMNS} FROM accounts WHERE name = ?", [target]).fetchone())
        return changed()

    @rerun_on_conflict
    def disable(self, name: str, *, by: Account) -> tuple[Account, bool]:
        """Disable an account (an admin's act): it can no longer sign in. Returns the account and
        whether anything changed. The last enabled admin cannot be disabled."""
        with self.store.write() as conn:
            now = self.clock.now_ms()
            actor = check_actor(conn, by, "admin").name
            row = _row(conn, unicodedata.normalize("NFC", name or ""))
            if row is None:
                raise CabinError("there is no account {name}", name=audit.printable(name))
            target = _account(row)
            if target.disabled:
                return target, False
            if target.role == "admin":
                admins = conn.execute("SELECT count(*) FROM accounts WHERE role = 'admin' AND disabled = 0").fetchone()[0]
                if admins <= 1:
                    raise CabinError("{name} is the last enabled admin: add another admin first", name=target.name)
            conn.execute("UPDATE accounts SET disabled = 1, updated_at = ? WHERE id = ?", [now, target.id])
            audit.record(conn, actor, "account.disable", target.name, {"role": target.role}, at=now)
            return _account(conn.execute(f"SELECT {_COLUMNS} FROM accounts WHERE id = ?", [target.id]).fetchone()), True
