"""The simulators' renderings (drivers/private.py): 0600 files in 0700 folders, and a file that
appears whole or not at all (a test or a viewer watching the folder never opens half a PNG)."""

from __future__ import annotations

import os
import stat
import threading

import pytest
from PIL import Image

from cabin.drivers import private


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_file_is_written_whole_0600_in_a_0700_folder(tmp_path):
    folder = tmp_path / "out" / "cards"
    private.make_folder(folder)
    private.write_whole(folder / "card-0001.png", lambda f: Image.new("L", (64, 32), 0).save(f, format="PNG"))
    assert [p.name for p in folder.iterdir()] == ["card-0001.png"]
    assert (mode(folder), mode(folder.parent), mode(folder / "card-0001.png")) == (0o700, 0o700, 0o600)
    with Image.open(folder / "card-0001.png") as img:
        assert img.size == (64, 32)


def test_a_write_that_fails_leaves_nothing_and_the_old_file_as_it_was(tmp_path):
    target = tmp_path / "ticket-0001.png"
    target.write_bytes(b"the old one")

    def half(f) -> None:
        f.write(b"\x89PNG half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        private.write_whole(target, half)
    assert [p.name for p in tmp_path.iterdir()] == ["ticket-0001.png"]
    assert target.read_bytes() == b"the old one"


def test_a_watcher_never_sees_the_file_before_it_is_whole(tmp_path):
    """The file is only there once all of it is: a writer that pauses half-way is watched."""
    target = tmp_path / "ticket-0001.png"
    halfway, go_on = threading.Event(), threading.Event()

    def slow(f) -> None:
        f.write(b"first half ")
        f.flush()
        halfway.set()
        go_on.wait(10)
        f.write(b"second half")

    writer = threading.Thread(target=private.write_whole, args=(target, slow))
    writer.start()
    assert halfway.wait(10)
    seen_halfway = target.exists()
    go_on.set()
    writer.join(10)
    assert not seen_halfway
    assert target.read_bytes() == b"first half second half"
