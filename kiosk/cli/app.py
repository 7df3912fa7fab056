"""`cabin`: the station from the command line.

The contract scripts, button boxes and the faces rely on: `--json` prints exactly one JSON
object on stdout; the exit codes are EXIT_CODES below. The rules live in cabin.queue and
cabin.kiosk.business; the CLI only parses, calls and prints.

This module is the CLI's frame: main, the Context every command gets, the output, the exit codes
and the index of commands. Each command lives in a module of kiosk/cli/ that is imported only
when its command runs, so `cabin call` does not pay for the faces, the export or the card
printer (tests/bench_cli.py measures the start; tests/kiosk/cli/test_cli_imports.py keeps it so).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import sys
from datetime import datetime
from typing import Callable

from cabin.config import ConfigError, load_config
from cabin.queue.clock import SystemClock
from cabin.queue.errors import CabinError, shown

from cabin.kiosk.cli import options

# argparse asks gettext for each of its words ("usage: ", "options", its errors), and gettext
# looks for a catalog on disk at every one: about 50 lookups, 3 ms of each command's start
# (`cabin call`, tests/bench_cli.py). Python ships no catalog for argparse, so its words are
# English whatever the locale: the same words here, without the lookups.
argparse._ = lambda text: text
argparse.ngettext = lambda singular, plural, n: singular if n == 1 else plural

# The exit codes, the CLI's contract with scripts (`cabin --help` lists them from here). An error
# says its own code (`exit_code`: CabinError 1, NothingToCall 3, tempcards' DeviceFailed 4); a
# refusal without one exits 1.
EXIT_CODES = {0: "done", 1: "refused", 2: "usage", 3: "nothing to call", 4: "done but a device failed"}
EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_NOTHING, EXIT_DEVICE = EXIT_CODES
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
MESSAGE_LIMIT = 1_000  # a whole refusal line; each value from outside in it is cut at 200 already

# Every command in the order `cabin --help` lists them: its name, the module of kiosk/cli/ that
# declares and runs it, and its line in the help.
COMMANDS = (
    ("ticket", "queue", "issue or show a ticket"),
    ("call", "queue", "call the next citizen to a window"),
    ("recall", "queue", "call the same citizen again (past the recall limit: no-show)"),
    ("no-show", "queue", "the called citizen did not come"),
    ("start", "queue", "the called citizen is at the window: start serving"),
    ("complete", "queue", "finish the errand; the ticket's next errand continues here if this window serves it"),
    ("transfer", "queue", "send the errand at a window to another window or service, keeping its place"),
    ("cancel", "queue", "cancel a ticket's remaining errands"),
    ("reactivate", "queue", "put a no-show ticket back at its place (within the reactivation window)"),
    ("window", "queue", "open, pause or close a window"),
    ("queue", "queue", "who is waiting, and what each window is doing"),
    ("simulate", "station", "run a realistic day through the engine on a simulated clock"),
    ("demo", "station", "a fresh demo database with one simulated day (make run)"),
    ("sim", "devices", "serve a simulated device on a pseudo-terminal or a TCP port until interrupted"),
    ("devices", "devices", "the configured devices"),
    ("config", "station", "check a station configuration"),
    ("doctor", "station", "database path, schema version, journal mode, integrity, config in use"),
    ("id", "identity", "check ID numbers"),
    ("user", "accounts", "staff accounts: add, passwd, disable, list"),
    ("audit", "accounts", "the tamper-evident audit log"),
    ("loss", "lostfound", "loss reports (挂失) and their cancellation (解挂)"),
    ("found", "lostfound", "found cards handed in (招领)"),
    ("intake", "intake", "exit-entry and traffic intake"),
    ("application", "applications", "main ID-card applications"),
    ("appointment", "appointments", "bookings from the booking platform (预约): import, check in, show"),
    ("rating", "ratings", "citizens' ratings (好差评) of completed errands, and the follow-up of bad ones"),
    ("board", "faces", "the lobby board: now serving per window, the last calls, the next numbers"),
    ("announce", "announce", "write a call's voice announcement to a WAV file, as the lobby's speakers would play it"),
    ("dispenser", "faces", "the ticket dispenser: the citizen chooses errands and takes a ticket"),
    ("supervisor", "faces", "the supervisor's view: windows, temporary-card approvals, today's figures, accounts"),
    ("counter", "faces", "the counter app of one window: sign in, call, serve, complete"),
    ("rate", "faces", "the citizens' rating screen (好差评) of one window"),
    ("tempcard", "tempcards", "temporary resident ID cards"),
    ("reveal", "privacy", "show a record's personal data unmasked (audited, with the reason)"),
    ("purge", "privacy", "remove personal fields of records closed longer ago than DAYS (retention)"),
    ("export", "export", "write the day's figures: JSON, CSV, XLSX and a chart, one file set per day"),
    ("init", "backup", "make a new station database (--db, $CABIN_DB or the default)"),
    ("backup", "backup", "a verified copy of the station database, made while the station runs"),
    ("restore", "backup", "replace the station database with a verified backup (the current one is kept)"),
    ("store", "store", "a station moved between an SQLite file and a PostgreSQL server; a server's grants"),
)


def command_module(name: str):
    """The module of kiosk/cli/ named in the index, imported on first use."""
    return importlib.import_module(f"cabin.kiosk.cli.{name}")


class Context:
    """What every command needs, opened lazily: a command that fails on its arguments
    never touches the database."""

    def __init__(self, args: argparse.Namespace, clock=None):
        self.args = args
        self.clock = clock if clock is not None else SystemClock()  # the station's time: a fixed one in tests
        self._config = None
        self._store = None

    @property
    def config(self):
        if self._config is None:
            self._config = load_config(self.args.config)
        return self._config

    @property
    def tz(self):
        """The station's time zone for showing a time; None (the host's) when the config is broken."""
        try:
            return self.config.station.tz
        except Exception:  # noqa: BLE001 - a display detail never refuses the command
            return None

    def database(self):
        """Where the station's database is: a file's Path or a server's URL (--db, CABIN_DB, the
        config's [store] url, the default file: kiosk/paths.py resolve_db). The config is read
        for it only when neither --db nor CABIN_DB names one."""
        from cabin.kiosk.paths import resolve_db

        return resolve_db(self.args.db, lambda: self.config.store.url)

    def store(self, **kwargs):
        if self._store is None:
            from cabin.kiosk.station import open_store

            self._store = open_store(self.database(), **kwargs)
        return self._store

    def station(self):
        from cabin.queue.engine import Station

        config = self.config  # a broken config is reported before the database is opened
        return Station(self.store(), config, self.clock)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


# -- output --------------------------------------------------------------------------------
def emit(args: argparse.Namespace, result: dict, text: str | Callable[[dict], str]) -> None:
    """A command's result: one JSON object under --json, else its text (or text(result))."""
    if args.json:
        say(json.dumps(result, ensure_ascii=False))
    else:
        say(text(result) if callable(text) else text)


def say(text: str) -> None:
    """Print a command's result on stdout. The work is done when this runs: a reader that has
    gone away (`cabin call --window 1 | true`) is no reason to report a failure, so the rest of
    the output goes to /dev/null, as git does, and the command keeps its exit code. Text a
    terminal cannot encode (an undecodable byte of the command line, echoed) is escaped."""
    try:
        try:
            print(text, flush=True)
        except UnicodeEncodeError:
            print(text.encode("utf-8", "backslashreplace").decode("utf-8"), flush=True)
    except BrokenPipeError:
        stdout_gone()


def stdout_gone() -> None:
    """Point stdout at /dev/null (Python's advice for SIGPIPE/BrokenPipeError): what is still
    buffered, and anything printed later, is dropped without another error."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's StringIO)
        sys.stdout = open(os.devnull, "w")
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def one_line(text: str) -> str:
    """A refusal is one line on stderr, whatever the message it carries (SQLite's, say), and
    goes through the one sanitiser (cabin.queue.errors.shown): whatever path a message took,
    no escape sequence reaches the terminal and no input comes back longer than the limit."""
    line = " / ".join(line.strip() for line in str(text).splitlines() if line.strip()) or "refused"
    return shown(line, MESSAGE_LIMIT)


def complain(text: str) -> None:
    """One line on stderr: why a command failed or what it could not do."""
    print(f"cabin: {one_line(text)}", file=sys.stderr)


def refuse(args: argparse.Namespace, why: Exception | str, code: int) -> int:
    """Report a refusal (stderr, and one JSON object under --json) and return its exit code."""
    message = one_line(str(why))
    print(f"cabin: {message}", file=sys.stderr)
    if args.json:
        say(json.dumps({"error": message, "exit": code}, ensure_ascii=False))
    return code


def when(tz, ms: int | None) -> str:
    """A time in milliseconds since the epoch as the station's clock showed it ("-": never)."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


# -- parser ---------------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    """argparse, but a usage error under --json is one JSON object too (exit 2)."""

    json_requested = False  # set by main(): subparsers are separate instances

    def error(self, message: str):
        message = one_line(message)  # argparse quotes what was typed: through the one sanitiser
        if Parser.json_requested:
            say(json.dumps({"error": message, "exit": EXIT_USAGE}, ensure_ascii=False))
        super().error(message)

    def _check_value(self, action, value):
        # argparse's own message would quote a 10 kB value whole: the value is cut here
        if action.choices is not None and value not in action.choices:
            choices = ", ".join(map(repr, action.choices))
            raise argparse.ArgumentError(action, f"invalid choice: {shown(repr(value))} (choose from {choices})")


class CommandIndex(argparse._SubParsersAction):
    """The top level's commands: each one's line in --help is written from COMMANDS at once, its
    parser declared by its module (`declare(commands)`) only when it is chosen on the command line,
    or when `declare_all` builds the whole tree (the docs' and the tests' walks)."""

    def __init__(self, *args, common: argparse.ArgumentParser, **kwargs):
        super().__init__(*args, **kwargs)
        self.common = common
        self._module_of: dict[str, str] = {}
        self._help: dict[str, str] = {}
        self._declared: set[str] = set()
        for name, module, help in COMMANDS:
            self._choices_actions.append(self._ChoicesPseudoAction(name, (), help))
            self._name_parser_map[name] = None  # a valid choice, its parser not made yet
            self._module_of[name], self._help[name] = module, help

    def __call__(self, parser, namespace, values, option_string=None):
        self.declare(values[0])
        super().__call__(parser, namespace, values, option_string)

    def declare(self, name: str) -> None:
        module = self._module_of[name]
        if module not in self._declared:
            self._declared.add(module)
            command_module(module).declare(self)
        if self._name_parser_map[name] is None:
            raise LookupError(f"kiosk/cli/{module}.py does not declare the command {name!r} of the index")

    def declare_all(self) -> None:
        for name in self._module_of:
            self.declare(name)

    # what a module's declare() calls
    def command(self, name: str, func: Callable[[Context], int], help: str | None = None,
                parent: argparse._SubParsersAction | None = None) -> argparse.ArgumentParser:
        """A command that runs `func`: a top-level one of the index (help from COMMANDS), or an
        action of a group (`parent`, from `group`). It takes --json, --db and --config."""
        if parent is None:
            p = self._make(name, parents=[self.common], description=self._help[name])
        else:
            p = parent.add_parser(name, parents=[self.common], help=help, description=help)
        p.set_defaults(func=func)
        return p

    def group(self, name: str) -> argparse._SubParsersAction:
        """A top-level command of several actions (`cabin ticket issue`): add them to what this returns."""
        return self._make(name).add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)

    def _make(self, name: str, **kwargs) -> argparse.ArgumentParser:
        if self._name_parser_map.get(name, False) is not None:  # not in the index, or declared twice
            raise LookupError(f"{name!r} is not a command of the index waiting to be declared")
        parser = self._parser_class(prog=f"{self._prog_prefix} {name}", **kwargs)
        self._name_parser_map[name] = parser  # in its place: `invalid choice` lists them in index order
        return parser


def lazy_parser() -> argparse.ArgumentParser:
    """The top-level parser; a command's own arguments are declared when it is chosen."""
    common = options.common(Parser)
    parser = Parser(
        prog="cabin", parents=[common],
        description="Cabin: the one-stop service counter of a police station.",
        epilog="Exit codes: " + ", ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()) + ".",
    )
    parser.add_subparsers(dest="command", metavar="COMMAND", action=CommandIndex, common=common)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The whole tree, every command declared (for the docs, the help and the tests' walks)."""
    parser = lazy_parser()
    commands_of(parser).declare_all()
    return parser


def commands_of(parser: argparse.ArgumentParser) -> CommandIndex:
    return next(a for a in parser._actions if isinstance(a, CommandIndex))


def main(argv: list[str] | None = None) -> int:
    if argv is not None:  # called in a running program (the tests): its garbage collector is its own
        return run(argv)
    # The process's own command line: `cabin call` is one process per press of a button. What the
    # start imported lives as long as the process, so the collector stops walking it, and when the
    # command is done the process ends: a last collection of its heap (~0.4x a bare Python start,
    # tests/bench_cli.py) would free nothing the exit does not.
    gc.freeze()
    try:
        return run(sys.argv[1:])
    finally:
        gc.freeze()


def run(argv: list[str]) -> int:
    parser = lazy_parser()
    Parser.json_requested = "--json" in argv
    for arg in argv:  # an undecodable byte arrives as a lone surrogate: no layer below could store or print it
        if any(0xD800 <= ord(c) <= 0xDFFF for c in arg):
            parser.error(f"{shown(repr(arg))} is not UTF-8 text (a byte on the command line could not be decoded)")
    args = parser.parse_args(argv)
    args.json = getattr(args, "json", False)
    args.db = getattr(args, "db", None)
    args.config = getattr(args, "config", None)
    if not getattr(args, "func", None):  # `cabin` alone: the demo station, on a terminal
        faces = command_module("faces")
        if not faces.can_show_a_face():
            parser.print_help()  # no terminal (scripts, CI): the index, never a screen that waits
            return EXIT_OK
        args.func, args.face = faces.run_demo_station, "the demo station"
    ctx = Context(args)
    try:
        return args.func(ctx)
    except (CabinError, ConfigError) as exc:
        return refuse(args, exc, getattr(exc, "exit_code", EXIT_REFUSED))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a face that cannot run says so in one sentence
        face = getattr(args, "face", None)
        if face is None or os.environ.get("CABIN_DEBUG"):
            raise
        reason = one_line(str(exc)) if str(exc).strip() else type(exc).__name__
        return refuse(args, f"{face} cannot run: {reason} (CABIN_DEBUG=1 shows where it failed)", EXIT_REFUSED)
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
