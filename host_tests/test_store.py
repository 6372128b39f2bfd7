"""store.Store on CPython: atomic writes, failures, and what the session keeps in it."""

import json
import os

import pytest
import store


def test_save_writes_tmp_then_renames(tmp_path, monkeypatch):
    p = str(tmp_path / "s.json")
    s = store.Store(p)
    s.set("a", 1)
    assert s.save()
    calls = []
    real = os.rename

    def spy(a, b):
        calls.append((a, b))
        assert json.load(open(a)) == {"a": 2}  # complete before it replaces the old file
        assert json.load(open(b)) == {"a": 1}
        real(a, b)

    monkeypatch.setattr(os, "rename", spy)
    s.set("a", 2)
    assert s.save()
    assert calls == [(p + ".tmp", p)]
    assert not os.path.exists(p + ".tmp")


def test_rename_that_does_not_replace(tmp_path, monkeypatch):
    p = str(tmp_path / "s.json")
    s = store.Store(p)
    s.set("a", 1)
    assert s.save()
    real = os.rename

    def fat_rename(a, b):  # like a file system that refuses to overwrite
        if os.path.exists(b):
            raise OSError(17, "exists")
        real(a, b)

    monkeypatch.setattr(os, "rename", fat_rename)
    s.set("a", 3)
    assert s.save()
    assert store.Store(p).get("a") == 3


def test_write_failure_keeps_the_old_file_and_stays_dirty(tmp_path, monkeypatch):
    p = str(tmp_path / "s.json")
    s = store.Store(p)
    s.set("a", 1)
    assert s.save()

    def full(obj, f):
        f.write('{"a": ')
        raise OSError(28, "no space left")

    monkeypatch.setattr(store.json, "dump", full)
    s.set("a", 2)
    assert s.save() is False and s.dirty
    assert not os.path.exists(p + ".tmp")
    monkeypatch.undo()
    assert store.Store(p).get("a") == 1
    assert s.save() and store.Store(p).get("a") == 2


@pytest.mark.parametrize("content", [b"", b"{", b"null", b"[]", b"\xff\xfe", b'{"a": 1}' * 3])
def test_corrupt_files_give_an_empty_store(tmp_path, content):
    p = tmp_path / "s.json"
    p.write_bytes(content)
    s = store.Store(str(p))
    assert s.get("a") is None and s.get("a", 7) == 7


def test_save_without_changes_does_not_touch_flash(tmp_path, monkeypatch):
    p = str(tmp_path / "s.json")
    s = store.Store(p)
    s.set("a", [1, 2])
    s.save()
    monkeypatch.setattr(os, "rename", lambda a, b: pytest.fail("wrote without a change"))
    s2 = store.Store(p)
    s2.set("a", [1, 2])
    assert s2.save()
