"""`mg.save` / `mg.load` round-trip any state dict exactly, never unpickle, refuse bad input where
it enters, and write atomically (`atomic_write`)."""

from __future__ import annotations

import errno
import io
import os
import zipfile
from collections.abc import Mapping

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.serialization import atomic_write


def assert_same(loaded, saved, where="top") -> None:
    """Equal trees: the same container types, key order, scalar types and array dtypes/shapes."""
    if isinstance(saved, mg.Tensor):
        saved = saved.data
    if isinstance(saved, np.ndarray):
        assert type(loaded) is np.ndarray, where
        assert loaded.dtype == saved.dtype and loaded.shape == saved.shape, where
        np.testing.assert_array_equal(loaded, saved, err_msg=where)
        return
    expected = dict if isinstance(saved, Mapping) else type(saved)  # any Mapping loads as a dict
    assert type(loaded) is expected, f"{where}: {type(loaded)} != {expected}"
    if isinstance(saved, Mapping):
        assert list(loaded) == list(saved), where
        for key in saved:
            assert_same(loaded[key], saved[key], f"{where}[{key!r}]")
    elif isinstance(saved, (list, tuple)):
        assert len(loaded) == len(saved), where
        for i, (a, b) in enumerate(zip(loaded, saved)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(saved, float) and np.isnan(saved):
        assert np.isnan(loaded), where
    else:
        assert loaded == saved, where
        if isinstance(saved, np.generic):
            assert loaded.dtype == saved.dtype, where
        if isinstance(saved, float):
            assert np.copysign(1.0, loaded) == np.copysign(1.0, saved), where


def round_trip(state, tmp_path):
    path = tmp_path / "state.npz"
    mg.save(state, path)
    return mg.load(path)


def training_state() -> dict:
    """What a checkpoint holds: model, optimizer (with per-parameter state), scheduler, RNG."""
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    optimizer = optim.Adam(
        [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.01}],
        lr=0.1,
    )
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=5)
    for _ in range(2):
        optimizer.zero_grad()
        model(mg.randn(8, 3)).sum().backward()
        optimizer.step()
        schedule.step()
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": schedule.state_dict(),
        "rng": mg.random.get_state(),
        "epoch": 2,
        "history": {"loss": [1.5, 0.25], "seconds": 0.1},
    }


def test_a_whole_training_state_round_trips_exactly(tmp_path):
    state = training_state()
    loaded = round_trip(state, tmp_path)
    assert_same(loaded, state)
    assert list(loaded["optimizer"]["state"]) == [0, 1, 2, 3]  # int keys stay ints
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert loaded["rng"]["state"]["state"] > 2**64  # a 128-bit int, not rounded to a float


def test_the_loaded_state_restores_optimizer_scheduler_and_rng(tmp_path):
    state = training_state()
    loaded = round_trip(state, tmp_path)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model.load_state_dict(loaded["model"])
    optimizer = optim.Adam(
        [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.01}],
        lr=0.1,
    )
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=5)  # sets lr: before loading
    optimizer.load_state_dict(loaded["optimizer"])
    schedule.load_state_dict(loaded["scheduler"])
    mg.random.set_state(loaded["rng"])
    assert_same(optimizer.state_dict(), state["optimizer"])
    assert_same(schedule.state_dict(), state["scheduler"])
    assert_same(mg.random.get_state(), state["rng"])


@pytest.mark.parametrize(
    "keys",
    [
        ["file", "allow_pickle", "args", "kwds"],  # np.savez's own keywords
        ["w", "w.npy", "w.npy.npy"],  # collide once '.npy' is appended
        ["0.npy", "1", 1, 0, "manifest.json"],  # the entry names used inside the file
        ["", "a/b", "../c", "d.e", "f\\g", " ", "\n"],
        ["θ", "名前", "😀", "\ud800"],  # unicode, and a lone surrogate
    ],
)
def test_any_key_round_trips(keys, tmp_path):
    state = {key: np.full(2, i, dtype=np.int16) for i, key in enumerate(keys)}
    state["nested"] = {key: float(i) for i, key in enumerate(reversed(keys))}
    assert_same(round_trip(state, tmp_path), state)


def test_scalars_and_arrays_keep_their_types_dtypes_and_shapes(tmp_path):
    state = {
        "scalars": [0, -(2**200), 1.5, float("nan"), float("inf"), -0.0, True, False, None, "s"],
        "numpy scalars": (np.float32(0.1), np.int8(-3), np.bool_(True), np.complex64(1j)),
        "0-d": np.array(2.5),
        "empty": np.zeros((0, 3), dtype=np.uint8),
        "dtypes": [np.ones(2, dtype=t) for t in ("f2", "f4", "f8", "i1", "u8", "c16", "?")],
        "big-endian": np.arange(4, dtype=">i4"),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "strided": np.arange(10.0)[::3],
        "tensor": mg.tensor(np.eye(2)),
        "empty containers": [{}, [], ()],
    }
    loaded = round_trip(state, tmp_path)
    assert_same(loaded, state)
    assert loaded["fortran"].flags.f_contiguous and loaded["0-d"].shape == ()
    loaded["tensor"][0, 0] = 7.0  # arrays come back writable


def test_a_flat_model_state_dict_loads_as_name_to_array(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    loaded = round_trip(model.state_dict(), tmp_path)
    assert list(loaded) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert all(type(value) is np.ndarray for value in loaded.values())
    assert model.load_state_dict(loaded) == ([], [])


@pytest.mark.parametrize("writer", [np.savez, np.savez_compressed])
def test_files_of_the_old_flat_layout_still_load(writer, tmp_path):
    path = tmp_path / "old.npz"
    arrays = {"0.weight": np.ones((2, 2), dtype=np.float32), "w": np.arange(3), "w.npy": np.ones(1)}
    writer(path, **arrays)
    assert_same(mg.load(path), arrays)


@pytest.mark.parametrize(
    "state, error, message",
    [
        ({1.5: np.ones(1)}, TypeError, "key 1.5 of type float"),
        ({"a": {("x", 1): 0}}, TypeError, r"entry \['a'\] has a key \('x', 1\) of type tuple"),
        ({True: 0}, TypeError, "key True of type bool"),
        ({None: 0}, TypeError, "key None of type NoneType"),
        (
            {"a": [1, np.array([{}], dtype=object)]},
            TypeError,
            r"entry \['a'\]\[1\] is not a numeric",
        ),
        ({"a": np.array(["text"])}, TypeError, r"entry \['a'\] is not a numeric array"),
        ({"a": {1, 2}}, TypeError, r"entry \['a'\] is a set"),
        ({"a": b"bytes"}, TypeError, r"entry \['a'\] is a bytes"),
        ({"a": np.datetime64("2020-01-01")}, TypeError, "dtype datetime64"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(state, error, message, tmp_path):
    with pytest.raises(error, match=message):
        mg.save(state, tmp_path / "bad.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_state_that_contains_itself_is_refused(tmp_path):
    state: dict = {"a": [1]}
    state["a"].append(state)
    with pytest.raises(ValueError, match=r"entry \['a'\]\[1\] contains itself"):
        mg.save(state, tmp_path / "loop.npz")
    shared = [1.0]
    assert_same(round_trip({"x": shared, "y": shared}, tmp_path), {"x": [1.0], "y": [1.0]})


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


def absurd_npy() -> bytes:
    """A .npy whose header claims 10**15 float64s, followed by 8 bytes."""
    real = npy_bytes(np.zeros(1))
    header = real[:-8].replace(b"(1,)", b"(1000000000000000,)")
    length = len(header) - 10
    header = header[:8] + length.to_bytes(2, "little") + header[10:]
    return header + real[-8:]


@pytest.mark.parametrize("layout", ["flat", "manifest"])
def test_a_header_claiming_an_absurd_size_is_a_value_error_not_memory_error(layout, tmp_path):
    path = tmp_path / "absurd.npz"
    if layout == "manifest":
        mg.save({"w": np.zeros(1)}, path)
        with zipfile.ZipFile(path) as archive:
            manifest = archive.read("manifest.json")
        path.unlink()
    with zipfile.ZipFile(path, "w") as archive:
        if layout == "manifest":
            archive.writestr("manifest.json", manifest)
            archive.writestr("0.npy", absurd_npy())
        else:
            archive.writestr("w.npy", absurd_npy())
    assert b"1000000000000000" in absurd_npy()
    with pytest.raises(ValueError, match=r"absurd.npz is not a minigrad state dict.*declares"):
        mg.load(path)


def test_a_zip_entry_claiming_more_bytes_than_the_file_holds_is_refused(tmp_path):
    path = tmp_path / "claims.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("w.npy", npy_bytes(np.zeros(4)))
    data = bytearray(path.read_bytes())
    central = data.rindex(b"PK\x01\x02")  # the central directory record of the one entry
    for offset in (20, 24):  # its compressed and uncompressed sizes
        data[central + offset : central + offset + 4] = (10**9).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"claims.npz .*claims 1000000000 bytes"):
        mg.load(path)


def rewrite_manifest(path, old: bytes, new: bytes) -> None:
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries["manifest.json"] = entries["manifest.json"].replace(old, new)
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)


@pytest.mark.parametrize(
    "old, new, message",
    [
        (b'{"str": "x"}', b'{"code": "x"}', "unknown node 'code'"),
        (b'{"array": 0}', b'{"array": 5}', "entry '5.npy' that it does not hold"),
        (b'{"str": "x"}', b'{"array": 0}', "array used twice"),
        (b'{"str": "x"}', b'{"int": true}', "malformed int"),
        (b'"minigrad-state/1"', b'"other/9"', "not of format"),
    ],
)
def test_a_corrupt_manifest_is_a_value_error(old, new, message, tmp_path):
    path = tmp_path / "m.npz"
    mg.save({"w": np.zeros(2), "s": "x"}, path)
    rewrite_manifest(path, old, new)
    with pytest.raises(ValueError, match=f"m.npz is not a minigrad state dict.*{message}"):
        mg.load(path)


# ---- atomic writes -------------------------------------------------------------------------------


def fill_the_disk_midway(monkeypatch):
    """Make the next array written stop halfway with ENOSPC, as a full disk does."""
    write_array = np.lib.format.write_array

    def half_then_full(stream, array, *args, **kwargs):
        whole = io.BytesIO()
        write_array(whole, array)
        stream.write(whole.getvalue()[: array.nbytes // 2 + 1])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np.lib.format, "write_array", half_then_full)


def test_saving_over_a_good_file_on_a_full_disk_keeps_the_good_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    good = nn.Linear(50, 50).state_dict()
    mg.save(good, path)
    fill_the_disk_midway(monkeypatch)
    with pytest.raises(OSError) as error:
        mg.save(nn.Linear(50, 50).state_dict(), path)
    assert error.value.errno == errno.ENOSPC
    assert_same(mg.load(path), good)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary file left


def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path) as stream:
            stream.write(b"new, half")
            raise KeyboardInterrupt
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    with atomic_write(path) as stream:
        stream.write(b"new")
        assert path.read_bytes() == b"old"  # nothing shows before the write completes
    assert path.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_atomic_writes_flush_fsync_and_rename(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: calls.append("replace") or real_replace(a, b))
    mg.save({"w": np.ones(3)}, tmp_path / "w.npz")
    assert calls[:2] == ["fsync", "replace"]  # the file is on disk before it is renamed
    assert calls[2:] in (["fsync"], [])  # then the folder, where the platform allows it


def test_atomic_writes_give_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        mg.save({}, tmp_path / "w.npz")
    finally:
        os.umask(mask)
    assert (tmp_path / "w.npz").stat().st_mode & 0o777 == 0o644
