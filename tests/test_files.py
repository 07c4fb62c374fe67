"""Safe output files: atomic, never clobbering, never writing through a symlink unasked."""

import errno
import os

import pandas as pd
import pytest

import netexp as ne
from netexp._files import WriteError, atomic_path, atomic_write, check_output, write_text


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".tmp-"))


def test_writes_and_refuses_existing(tmp_path):
    p = tmp_path / "a.txt"
    write_text(p, "one\n")
    assert p.read_text() == "one\n"
    with pytest.raises(ne.OutputExistsError, match="refusing to overwrite"):
        write_text(p, "two\n")
    assert p.read_text() == "one\n"
    write_text(p, "two\n", overwrite=True)
    assert p.read_text() == "two\n"
    assert leftovers(tmp_path) == []


def test_symlink_target_never_overwritten(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    link = tmp_path / "out.csv"
    link.symlink_to(target)
    for overwrite in (False, True):
        with pytest.raises(ne.OutputExistsError, match="symbolic link"):
            write_text(link, "new\n", overwrite=overwrite)
    assert target.read_text() == "keep me\n" and link.is_symlink()
    # asked explicitly: the target is replaced atomically and the link stays a link
    write_text(link, "new\n", overwrite=True, follow_symlinks=True)
    assert link.is_symlink() and target.read_text() == "new\n"


def test_dangling_symlink_not_followed(tmp_path):
    link = tmp_path / "out.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    with pytest.raises(ne.OutputExistsError, match="dangling"):
        write_text(link, "x", overwrite=True)
    assert not (tmp_path / "elsewhere.csv").exists()


def test_file_created_meanwhile_is_not_clobbered(tmp_path):
    p = tmp_path / "clusters.csv"
    with pytest.raises(ne.OutputExistsError, match="created by someone else"):
        with atomic_write(p) as fh:
            fh.write("ours\n")
            p.write_text("theirs\n")  # another process wins the race
    assert p.read_text() == "theirs\n"
    assert leftovers(tmp_path) == []


def test_interrupted_writer_leaves_old_file_and_no_partial(tmp_path):
    p = tmp_path / "assignment.csv"
    p.write_text("node_id,treatment\n1,0\n2,1\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(p, overwrite=True) as fh:
            fh.write("node_id,treatment\n1,1\n")
            raise KeyboardInterrupt
    assert p.read_text() == "node_id,treatment\n1,0\n2,1\n"
    assert leftovers(tmp_path) == []


def test_full_disk_is_a_clean_error(tmp_path, monkeypatch):
    p = tmp_path / "out.parquet"

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError, match="no space left on the device; nothing was written") as info:
        with atomic_path(p) as tmp:
            pd.DataFrame({"a": [1]}).to_parquet(tmp)
            full()
    assert isinstance(info.value, OSError) and isinstance(info.value, ne.NetexpError)
    assert not p.exists() and leftovers(tmp_path) == []


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_dev_full_symlink_refused_then_clean_error(tmp_path):
    link = tmp_path / "out.txt"
    link.symlink_to("/dev/full")
    with pytest.raises(ne.OutputExistsError):
        write_text(link, "x" * 100, overwrite=True)


def test_keeps_suffix_for_format_inference(tmp_path):
    p = tmp_path / "e.csv.gz"
    with atomic_path(p) as tmp:
        assert tmp.name.endswith(".csv.gz") and tmp.parent == tmp_path
        pd.DataFrame({"a": [1, 2]}).to_csv(tmp, index=False)
    assert pd.read_csv(p)["a"].tolist() == [1, 2]


def test_check_output_messages(tmp_path):
    with pytest.raises(ne.InputError, match="does not exist"):
        check_output(tmp_path / "nope" / "x.csv")
    with pytest.raises(ne.InputError, match="directory"):
        check_output(tmp_path)


def test_assignment_and_sidecar_written_atomically(tmp_path):
    from netexp._assign import file_sha256, sidecar_path, write_spec_assignment as write_assignment

    g = ne.load_graph("karate")
    out = tmp_path / "a.csv"
    write_assignment({"design": "complete", "seed": 1}, g, "karate", out)
    import json

    rec = json.loads(sidecar_path(out).read_text())
    assert rec["assignment_sha256"] == file_sha256(out)
    assert leftovers(tmp_path) == []
    # a symlinked output with --force: refused, the target is untouched
    tgt = tmp_path / "target.csv"
    tgt.write_text("x\n")
    link = tmp_path / "b.csv"
    link.symlink_to(tgt)
    with pytest.raises(ne.OutputExistsError, match="symbolic link"):
        write_assignment({"design": "complete", "seed": 1}, g, "karate", link, overwrite=True)
    assert tgt.read_text() == "x\n"


def test_kill_9_mid_write_leaves_old_file_whole(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    p = tmp_path / "assignment.csv"
    old = "node_id,treatment\n" + "".join(f"{i},{i % 2}\n" for i in range(1000))
    p.write_text(old)
    code = (
        "import sys, time\n"
        "from netexp._files import atomic_write\n"
        "with atomic_write(sys.argv[1], overwrite=True) as fh:\n"
        "    fh.write('node_id,treatment\\n')\n"
        "    for i in range(10**6):\n"
        "        fh.write(f'{i},1\\n'); fh.flush()\n"
        "        if i == 10: print('writing', flush=True)\n"
        "        time.sleep(0.001)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(p)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert p.read_text() == old  # the complete old file, never a truncated new one
    # what is left behind is a hidden temporary file that no reader takes for the output
    assert all(q.name.startswith(".tmp-") for q in tmp_path.iterdir() if q != p)
