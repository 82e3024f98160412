"""Faults end a run within seconds, with one line that says what failed and what to do, and lose nothing: no
process is left, the last good checkpoint is kept, no half-written file is left behind."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import tyro

import vlmrm_sac as vs
from test_train import ROOT, only_run, read_metrics

# A CartPole run on the env's own reward that trains for long enough to be broken on purpose
LONG = ["--env-id", "CartPole-v1", "--reward", "env", "--no-log-clip-reward", "--video-interval", 0, "--num-envs", 4,
        "--num-workers", 2, "--total-timesteps", 10**7, "--learning-starts", 200, "--train-frequency", 50,
        "--gradient-steps", 10, "--batch-size", 32, "--buffer-size", 10000, "--log-interval", 200, "--hidden-size", 16]


def start(tmp_path: Path, *flags) -> subprocess.Popen:
    """The script in the background, its output in files (a full pipe would block it)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    out, err = open(tmp_path / "stdout", "w"), open(tmp_path / "stderr", "w")
    return subprocess.Popen([sys.executable, str(ROOT / "vlmrm_sac.py"), *map(str, flags)], stdout=out, stderr=err,
                            env=env, cwd=ROOT)


def wait_until(condition, timeout=120.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def training(run_dir: Path) -> bool:
    """A train row with losses is in metrics.csv: the workers are up and gradient steps are made."""
    runs = list(run_dir.glob("*/metrics.csv")) if run_dir.exists() else []
    return bool(runs) and any(r["kind"] == "train" and r["qf_loss"] for r in read_metrics(runs[0].parent))


def descendants(pid: int) -> set:
    """The processes whose parent chain leads to pid (the env workers, multiprocessing's resource tracker)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def ended_with_one_line(proc: subprocess.Popen, tmp_path: Path, timeout: float) -> str:
    """Waits for the run to end (within `timeout` s: no hang) and returns its last line on stderr, checking that
    no traceback (the trainer's or a worker's) was printed."""
    proc.wait(timeout=timeout)
    stderr = (tmp_path / "stderr").read_text()
    assert "Traceback" not in stderr, stderr
    return stderr.strip().splitlines()[-1]


def test_a_killed_env_worker_ends_the_run_in_seconds_and_leaves_no_process(tmp_path):
    proc = start(tmp_path, *LONG, "--checkpoint-interval", 400, "--run-dir", tmp_path / "runs")
    wait_until(lambda: any((tmp_path / "runs").glob("*/checkpoints/latest.pt")), what="a checkpoint")
    family = descendants(proc.pid)
    workers = [pid for pid in family if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert len(workers) == 2
    os.kill(workers[1], signal.SIGKILL)
    killed = time.monotonic()
    line = ended_with_one_line(proc, tmp_path, timeout=60)
    assert time.monotonic() - killed < 15
    assert proc.returncode == 1
    assert re.match(r"error: env worker (1 of 2 \(envs 0-1|2 of 2 \(envs 2-3) of 4\) was killed by SIGKILL", line), line
    assert "--resume" in line  # the run saved checkpoints before: it says how to go on
    wait_until(lambda: not any(alive(pid) for pid in family), timeout=10, what="the run's processes to end")


def test_a_second_ctrl_c_aborts_at_once_without_a_traceback(tmp_path):
    """The first Ctrl-C lets the stretch finish; a second, during a long stretch, aborts without saving (exit 130)."""
    proc = start(tmp_path, *[f if f != 50 else 20000 for f in LONG], "--run-dir", tmp_path / "runs")  # stretches of 20k steps
    wait_until(lambda: "0/10000000" in (tmp_path / "stderr").read_text(), what="the progress bar: the loop has begun")
    family = descendants(proc.pid)
    proc.send_signal(signal.SIGINT)
    wait_until(lambda: "finishing this stretch" in (tmp_path / "stderr").read_text() + (tmp_path / "stdout").read_text(),
               timeout=30, what="the first Ctrl-C to be seen")
    proc.send_signal(signal.SIGINT)
    line = ended_with_one_line(proc, tmp_path, timeout=30)
    assert proc.returncode == 130 and line == "aborted without saving", line
    assert not (only_run(tmp_path / "runs") / "checkpoints").exists()
    wait_until(lambda: not any(alive(pid) for pid in family), timeout=10, what="the run's processes to end")


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs: a disk that can be filled (needs root, as on this project's machines and CI)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], capture_output=True, text=True)
    if mount.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_ends_the_run_with_one_line_keeping_the_last_checkpoint(tmp_path, small_disk):
    proc = start(tmp_path, *LONG, "--checkpoint-interval", 400, "--run-dir", small_disk)
    wait_until(lambda: any(small_disk.glob("*/checkpoints/step_*.pt")), what="a checkpoint")
    # The disk fills up while the run goes on; on a loaded machine the run may fill it first, so the full disk
    # may show at the open as well as at a write.
    with pytest.raises(OSError):
        with open(small_disk / "filler", "wb") as filler:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
    line = ended_with_one_line(proc, tmp_path, timeout=60)
    assert proc.returncode == 1 and line.startswith("error: could not write") and "free there" in line, line
    run = only_run(small_disk)
    assert not list(run.rglob("*.tmp")) and not list(run.rglob(".tmp_*"))
    latest = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)  # the last good one, whole
    assert latest["state"]["global_step"] >= 400


def test_non_finite_losses_end_the_run_with_one_line_and_the_state_saved(tmp_path):
    proc = start(tmp_path, *LONG, "--q-lr", 1e30, "--policy-lr", 1e30, "--run-dir", tmp_path / "runs")
    line = ended_with_one_line(proc, tmp_path, timeout=120)
    assert proc.returncode == 1 and line.startswith("error: the losses became non-finite") and "--resume" not in line, line
    assert (only_run(tmp_path / "runs") / "checkpoints" / "nonfinite.pt").exists()


def test_an_interrupted_checkpoint_write_leaves_no_temporary_file_and_the_old_checkpoint(tmp_path, monkeypatch):
    agent = vs.SAC(4, vs.gym.spaces.Discrete(2), vs.Args(env_id="CartPole-v1", hidden_size=8), "cpu")
    ckpt = {"format": vs.CHECKPOINT_FORMAT, "agent": agent.state_dict()}
    path = tmp_path / "latest.pt"
    vs.save_checkpoint(path, ckpt)
    before = path.read_bytes()

    def interrupted(obj, f):  # half a file, then Ctrl-C
        Path(f).write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(vs.torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        vs.save_checkpoint(path, ckpt)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["latest.pt"]


def test_two_runs_never_share_a_directory_and_a_running_one_is_locked(tmp_path):
    base = tmp_path / "CartPole-v1__x__1__1700000000"
    first, second = vs.new_directory(base), vs.new_directory(base)
    assert first == base and second.name == base.name + "_2"
    with vs.locked(first):
        with pytest.raises(vs.UserError, match="in use by another process"):
            with vs.locked(first):
                pass
    with vs.locked(first):  # released when the run ends
        pass


def test_repeated_prompt_flags_accumulate():
    args = tyro.cli(vs.Args, args=["--prompt", "a", "--prompt", "b", "--baseline-prompt", "c"])
    assert args.prompt == ("a", "b") and args.baseline_prompt == ("c",)
    assert tyro.cli(vs.Args, args=[]).prompt == (vs.PAPER_PROMPT,)
