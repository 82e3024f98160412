"""The training loop as a user runs it (subprocess + flags), resume, evaluation, and SAC's pieces."""

import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import live_view
import vlmrm_sac as vs

ROOT = Path(__file__).resolve().parents[1]
# The paper's CartPole prompt, scored by the tiny CLIP trained on the project's frames (tests/mini_clip.py)
GOAL, BASELINE = vs.PAPER_PROMPTS["CartPole"]
CARTPOLE_CLIP = ["--clip-model", ROOT / "results" / "mini_clip" / "cartpole_tiny", "--prompt", GOAL,
                 "--baseline-prompt", BASELINE, "--alpha", 0.5]
# Discrete SAC settings that balance CartPole within 12.8k steps, on either reward. The envs step in this process
# (the same steps as in workers, whose pool test_envs.py checks): workers cost their start and a pipe round trip a step
CARTPOLE_SETTINGS = ["--num-envs", 8, "--total-timesteps", 12800, "--learning-starts", 2000, "--train-frequency", 25,
                     "--gradient-steps", 50, "--batch-size", 128, "--gamma", 0.99, "--policy-lr", 1e-3, "--q-lr", 1e-3,
                     "--buffer-size", 100000, "--reward-batch-size", 200, "--video-interval", 0, "--log-interval", 4000,
                     "--checkpoint-interval", 100000, "--seed", 1, "--num-workers", 0]


# Runs the script with an audit hook that writes, at exit, every import of wandb and every network connection or
# name lookup to the file $AUDIT_LOG
AUDITED = """
import json, os, runpy, sys
seen = []
def hook(event, args):
    if event == "import" and args[0].split(".")[0] == "wandb":
        seen.append(["import", args[0]])
    elif event == "socket.getaddrinfo" or (event == "socket.connect" and isinstance(args[1], tuple)):
        seen.append([event, repr(args[1:])])
sys.addaudithook(hook)
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    open(os.environ["AUDIT_LOG"], "w").write(json.dumps(seen))
"""


def run_script(*flags, timeout=600, check=True, cwd=ROOT, env=None, audit_log=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **(env or {})}
    audit = ["-c", AUDITED] if audit_log else []
    if audit_log:
        env["AUDIT_LOG"] = str(audit_log)
    proc = subprocess.run([sys.executable, *audit, str(ROOT / "vlmrm_sac.py"), *map(str, flags)], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
    return proc


def only_run(run_dir: Path) -> Path:
    (run,) = [p for p in run_dir.iterdir() if p.is_dir()]
    return run


def read_metrics(run: Path) -> list[dict]:
    with open(run / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


QUICK = ["--num-envs", 2, "--learning-starts", 200, "--train-frequency", 50, "--gradient-steps", 20,
         "--batch-size", 32, "--buffer-size", 5000, "--log-interval", 200, "--reward-batch-size", 64]
# Runs whose checks are not about the env pool step their envs in this process (--num-workers 0): starting the
# workers takes seconds of a short run. The pool is tested in test_envs.py, and as a user runs it by the runs below


# The paper's look is tested frame by frame in test_envs.py. The humanoid here is drawn by MuJoCo Warp: EGL at
# paper quality costs 0.12 s a 64x64 frame on a CPU (its 4096 shadow map); the EGL run is in the Warp-vs-EGL test.
@pytest.mark.parametrize("env_id, extra, episode_length", [
    ("Humanoid-v5", ["--render-size", 64, "--episode-length", 50, "--renderer", "warp", "--look", "generated"], 50),
    ("CartPole-v1", ["--episode-length", 50, "--log-prompt", "a pole", "--log-prompt", "a cart"], 50),
    ("MountainCarContinuous-v0", ["--episode-length", 50, "--look", "generated"], 50),
])
def test_end_to_end_clip_reward_run(tmp_path, tiny_clip, env_id, extra, episode_length):
    """A few hundred steps past learning_starts, so gradient steps happen, on each of the paper's envs. The live view
    (TensorBoard, by default) holds metrics.csv's values; W&B is not imported and nothing reaches the network."""
    run_script("--env-id", env_id, "--clip-model", tiny_clip, "--prompt", "a robot", "--total-timesteps", 600,
               "--video-interval", 200, "--checkpoint-interval", 400, "--run-dir", tmp_path / "runs", *QUICK, *extra,
               audit_log=tmp_path / "audit.json")
    assert json.loads((tmp_path / "audit.json").read_text()) == []
    run = only_run(tmp_path / "runs")
    rows = read_metrics(run)
    episodes = [r for r in rows if r["kind"] == "episode"]
    train = [r for r in rows if r["kind"] == "train"]
    assert len(episodes) == 600 // episode_length  # 2 envs x 300 steps, every episode logged once
    assert all(int(r["episode_length"]) == episode_length for r in episodes)
    for r in episodes:  # both returns are logged, whichever trains (their values: the golden rows below)
        assert r["clip_return"] and r["env_return"]
    if env_id != "Humanoid-v5":
        assert {r["success"] for r in episodes} <= {"0", "1"}
    if "--log-prompt" in extra:  # scored, never trained on: the golden rows below, recorded without, are unchanged
        for r in episodes:  # each sentence scores the frames its own way
            assert len({r["clip_return"], r["clip_return[a pole]"], r["clip_return[a cart]"]}) == 3
        assert len({r["clip_return[a cart]"] for r in episodes}) > 1
    learning = [r for r in train if r["qf_loss"]]
    assert learning and all(math.isfinite(float(r["qf_loss"])) and float(r["sps"]) > 0 for r in learning)
    videos = sorted((run / "videos").glob("*.mp4"))
    assert videos and all(v.stat().st_size > 1000 for v in videos)
    assert [v.name for v in videos] == [f"step_{s:09d}.mp4" for s in (100, 300, 500)]  # the next episode every 200 steps
    assert {"latest.pt", "step_000000400.pt"} <= {p.name for p in (run / "checkpoints").iterdir()}
    blob = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)
    assert blob["state"]["global_step"] == 600 and blob["state"]["gradient_step"] > 0
    assert json.loads((run / "args.json").read_text())["env_id"] == env_id
    assert_same_as_recorded(rows, ROOT / "tests" / "data" / f"golden_metrics_{env_id}.csv")
    live_view.assert_events_match(run, rows)
    assert live_view.read_events(run)[1] == [int(v.stem[5:]) for v in videos]  # a frame of each video, at its step
    assert not (run / "wandb").exists()


def test_logged_returns_are_clips_scores_of_the_frames_and_gymnasiums_own_env_summed_over_each_episode(tmp_path, tiny_clip):
    """Each logged episode's CLIP return is the sum of a fresh model's scores of that env's frames of the episode, drawn
    again here from the states the replay buffer holds (MountainCar's frame is its position's), and the buffer's
    rewards are those scores; its ground-truth return is what gymnasium's own MountainCarContinuous gives when stepped
    from the episode's first observation with the buffer's actions; its observations follow from one step to the next.
    (No car reaches the flag in 50 steps from rest, where the authors' goal rule would depart from gymnasium's.)"""
    import gymnasium as gym

    import plot

    run_script("--env-id", "MountainCarContinuous-v0", "--clip-model", tiny_clip, "--prompt", "a robot", "--total-timesteps",
               300, "--video-interval", 0, "--checkpoint-interval", 1000, "--save-buffer", "--look", "generated",
               "--episode-length", 50, "--run-dir", tmp_path, *QUICK)
    run = only_run(tmp_path)
    data = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)["buffer"]["data"]
    per_env = {k: v.view(150, 2, *v.shape[1:]).double() for k, v in data.items()}  # the buffer holds (step, env) in order
    episodes = [r for r in read_metrics(run) if r["kind"] == "episode"]
    assert len(episodes) == 6
    args = json.loads((run / "args.json").read_text())
    reward = vs.CLIPReward(str(tiny_clip), args["prompt"], args["baseline_prompt"], alpha=args["alpha"])
    frames = plot.render_states("MountainCarContinuous-v0", per_env["next_obs"].flatten(0, 1).numpy(), look="generated")
    scores = reward(frames).view(150, 2).double()  # (step, env): the CLIP reward of each transition's frame
    np.testing.assert_allclose(per_env["rewards"].numpy(), scores.numpy(), atol=1e-4)
    env = gym.make("MountainCarContinuous-v0").unwrapped
    env.reset(seed=0)
    for e in range(2):
        mine = [r for r in episodes if int(r["env"]) == e]
        for i, row in enumerate(mine):
            steps = slice(50 * i, 50 * (i + 1))
            assert int(row["global_step"]) == 2 * 50 * (i + 1)
            assert float(row["clip_return"]) == pytest.approx(scores[steps, e].sum().item(), abs=1e-3)
            assert per_env["dones"][steps, e].tolist() == [0.0] * 49 + [1.0]
            obs, actions, next_obs = (per_env[k][steps, e].numpy() for k in ("obs", "actions", "next_obs"))
            np.testing.assert_allclose(obs[1:], next_obs[:-1], atol=1e-6)
            env.state, total = obs[0].copy(), 0.0
            for t in range(50):
                state, reward, *_ = env.step(actions[t].astype(np.float32))
                np.testing.assert_allclose(state, next_obs[t], atol=1e-4)
                env.state, total = next_obs[t].copy(), total + reward  # from the logged state: float32 observations
            assert float(row["env_return"]) == pytest.approx(total, abs=1e-4)


def assert_same_as_recorded(rows: list[dict], golden: Path, until: int | None = None):
    """The same command gives the same run: every metrics row (episodes: CLIP and ground-truth returns, so the
    frames CLIP saw; train rows: every loss) equals the one recorded in tests/data by this test's command. Floats to
    1e-4 relative: a change of behaviour moves them by far more, another CPU's rounding by far less, except where a
    chaotic body magnifies it: the humanoid's falls, from step to step. So a run may match any recording of the
    command, `golden` or one beside it recorded on another kind of CPU (`<golden's name>.<cpu>.csv`). `until`: the run
    is the recorded command cut short at this step (a smaller --total-timesteps changes no step before it), and is
    compared with the recording's rows up to it."""
    recordings = [golden, *sorted(golden.parent.glob(f"{golden.stem}.*.csv"))]
    failures = []
    for recording in recordings:
        try:
            return compare_rows(rows, recording, until)
        except AssertionError as e:
            failures.append(f"{recording.name}: {str(e).splitlines()[0][:300]}")
    raise AssertionError("the run matches no recording of its command:\n" + "\n".join(failures))


def compare_rows(rows: list[dict], golden: Path, until: int | None = None):
    with open(golden, newline="") as f:
        expected = [r for r in csv.DictReader(f) if until is None or int(r["global_step"]) <= until]
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected):
        for column, value in want.items():
            if column in ("global_step", "kind", "env", "success", "episode_length") or value == "":
                assert row[column] == value, (column, row, want)
            else:
                assert float(row[column]) == pytest.approx(float(value), rel=1e-4, abs=1e-6), (column, row, want)


def test_clip_labels_do_not_depend_on_how_the_stretch_is_batched(tmp_path, tiny_clip):
    """CLIP labels a stretch in batches on a side thread while the envs step: batches of one vector step
    and one batch for the whole stretch must give every episode the same CLIP return."""
    returns = []
    for batch in (2, 1000):
        proc = run_script("--env-id", "CartPole-v1", "--clip-model", tiny_clip, "--prompt", "a pole", "--baseline-prompt",
                          "a cart", "--num-envs", 2, "--episode-length", 25, "--train-frequency", 50, "--total-timesteps",
                          200, "--learning-starts", 200, "--video-interval", 0, "--reward-batch-size", batch,
                          "--run-dir", tmp_path / str(batch))
        rows = read_metrics(only_run(tmp_path / str(batch)))
        returns.append([float(r["clip_return"]) for r in rows if r["kind"] == "episode"])
    assert len(returns[0]) == 8 and len(set(returns[0])) > 1
    assert proc.stderr.count("--baseline-prompt has no effect") == 1  # with --alpha 0: said once, not twice
    np.testing.assert_allclose(returns[0], returns[1], atol=1e-4)


def test_every_stretch_past_learning_starts_makes_its_gradient_steps_and_logs_finite_losses(tmp_path):
    run_script("--env-id", "CartPole-v1", "--reward", "env", "--no-log-clip-reward", "--video-interval", 0,
               "--total-timesteps", 1000, "--checkpoint-interval", 400, "--num-workers", 0, "--run-dir", tmp_path, *QUICK)
    run = only_run(tmp_path)
    train = [r for r in read_metrics(run) if r["kind"] == "train"]
    assert [r["global_step"] for r in train] == ["200", "400", "600", "800", "1000"]
    assert not train[0]["qf_loss"]  # nothing trained yet at --learning-starts 200
    assert all(math.isfinite(float(r["qf_loss"])) and math.isfinite(float(r["actor_loss"])) for r in train[1:])
    blob = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)
    # after each stretch of 2 x 50 steps ending past --learning-starts 200 (SB3's test): at 300, 400, ..., 1000
    assert blob["state"]["gradient_step"] == 20 * 8


def test_gsde_runs_and_logs_finite_losses(tmp_path):
    """--use-sde on MountainCar: the policy draws noise weights per env for each stretch and per gradient step."""
    run_script("--env-id", "MountainCarContinuous-v0", "--reward", "env", "--no-log-clip-reward", "--video-interval", 0,
               "--use-sde", "--total-timesteps", 600, "--episode-length", 50, "--num-workers", 0, "--run-dir", tmp_path,
               *QUICK)
    train = [r for r in read_metrics(only_run(tmp_path)) if r["kind"] == "train"]
    assert all(math.isfinite(float(r["qf_loss"])) and math.isfinite(float(r["actor_loss"])) for r in train[1:])


def test_best_checkpoint_follows_the_authors_rule(tmp_path):
    """best.pt is, among the checkpoints after learning starts, the one with the highest mean training return
    over the last --best-window episodes (the authors: every 128k steps, 512 episodes)."""
    wandb_env = {"WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    run_script("--env-id", "MountainCarContinuous-v0", "--reward", "env", "--no-log-clip-reward", "--video-interval", 0,
               "--episode-length", 25, "--total-timesteps", 1600, "--checkpoint-interval", 200, "--best-window", 6,
               "--num-workers", 0, "--track", "--run-dir", tmp_path, *QUICK, env=wandb_env)
    run = only_run(tmp_path)
    episodes = [r for r in read_metrics(run) if r["kind"] == "episode"]
    windows = {}
    for step in range(200, 1601, 200):
        returns = [float(r["env_return"]) for r in episodes if int(r["global_step"]) <= step][-6:]
        windows[step] = np.mean(returns)
    best_step = max(windows, key=windows.get)
    blob = torch.load(run / "checkpoints" / "best.pt", weights_only=True)
    assert blob["state"]["global_step"] == best_step
    assert blob["state"]["best_return"] == pytest.approx(windows[best_step])
    assert len(set(windows.values())) > 1  # the rule had a real choice to make

    # Resumed from a step checkpoint (as after a crash), the run keeps to the grid of step checkpoints; the event
    # files are cut back to step 800 and hold the new rows once; W&B, which has every step already, gets none again
    run_script("--resume", run / "checkpoints" / "step_000000800.pt", env=wandb_env)
    assert sorted(p.name for p in (run / "checkpoints").glob("step_*.pt")) == [f"step_{s:09d}.pt" for s in range(200, 1601, 200)]
    live_view.assert_events_match(run, read_metrics(run))
    first, second = live_view.read_wandb(run)
    assert first["id"] == second["id"] and max(r["global_step"] for r in first["history"]) == 1600
    assert second["history"] == []


def test_the_video_frames_carry_the_reward_strip(tmp_path):
    import imageio

    frames = np.zeros((5, 64, 64, 3), np.uint8)
    vs.write_video(tmp_path / "v.mp4", frames, np.linspace(0, 1, 5), "CLIP reward")
    video = imageio.mimread(tmp_path / "v.mp4")
    assert len(video) == 5 and video[0].shape[0] > 64  # the strip is below the frame
    assert video[-1][64:].mean() > video[0][64:].mean()  # the curve grows along the episode


LOGGED = ["a robot", "a cart"]


def test_evaluation_writes_episodes_frames_videos_and_labels(tmp_path, tiny_clip):
    """Also: a run's local CLIP is kept as an absolute path, and --clip-model points an evaluation at a model that
    moved; --log-prompt given to an evaluation scores its frames (eval.csv, the npz files)."""
    shutil.copytree(tiny_clip, tmp_path / "model")
    run_script("--env-id", "CartPole-v1", "--clip-model", "model", "--prompt", "a pole", "--total-timesteps", 200,
               "--episode-length", 20, "--video-interval", 0, "--num-workers", 0, "--run-dir", tmp_path / "runs", *QUICK,
               cwd=tmp_path)
    run = only_run(tmp_path / "runs")
    assert json.loads((run / "args.json").read_text())["clip_model"] == str(tmp_path / "model")
    (tmp_path / "model").rename(tmp_path / "moved")
    proc = run_script("--eval-checkpoint", run / "checkpoints" / "latest.pt", "--eval-episodes", 3, check=False)
    assert proc.returncode == 1 and "no local directory" in proc.stderr and not list(run.glob("eval_*"))
    proc = run_script("--eval-checkpoint", run / "checkpoints" / "latest.pt", "--eval-episodes", 3, "--num-workers", 0,
                      "--clip-model", tmp_path / "moved", *[f for p in LOGGED for f in ("--log-prompt", p)])
    assert f"replaced by --clip-model {tmp_path / 'moved'}" in proc.stdout
    (out,) = run.glob("eval_*")
    with open(out / "eval.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["episode"] for r in rows] == ["0", "1", "2"] and all(r["length"] == "20" for r in rows)
    episode = np.load(out / "frames" / "episode_001.npz")
    assert episode["frames"].shape == (20, 400, 600, 3) and episode["clip_rewards"].shape == (20,)
    assert float(rows[1]["clip_return"]) == pytest.approx(float(episode["clip_rewards"].sum()), rel=1e-5)
    # the logged prompts' returns and the goal's vote, computed again from the saved frames by another model instance
    goal, others = vs.CLIPReward(tiny_clip, ["a pole"]), {p: vs.CLIPReward(tiny_clip, [p]) for p in LOGGED}
    for row in rows:
        frames = np.load(out / "frames" / f"episode_{int(row['episode']):03d}.npz")["frames"]
        x = goal.embed_images(frames)
        for p, model in others.items():
            assert float(row[f"clip_return[{p}]"]) == pytest.approx(float(model(frames).sum()), rel=1e-5)
        closest = torch.stack([x @ goal.goal_emb] + [x @ m.goal_emb for m in others.values()], 1).argmax(1)
        assert float(row["goal_vote_share"]) == pytest.approx(float((closest == 0).float().mean()))
    assert len({r["goal_vote_share"] for r in rows} | {r["clip_return[a robot]"] for r in rows}) > 2
    assert len(list((out / "videos").glob("*.mp4"))) == 3
    assert (out / "labels.csv").read_text().splitlines() == ["episode,goal_share", "0,", "1,", "2,"]

    # Labels a person filled in are never paired with the episodes of a later evaluation: that one gets a new folder
    (out / "labels.csv").write_text("episode,goal_share\n0,100\n1,0\n2,50\n")
    run_script("--eval-checkpoint", run / "checkpoints" / "latest.pt", "--eval-episodes", 2, "--deterministic",
               "--num-workers", 0, "--clip-model", tmp_path / "moved")
    assert (out / "labels.csv").read_text() == "episode,goal_share\n0,100\n1,0\n2,50\n"
    assert len(list((out / "frames").glob("*.npz"))) == 3
    again = out.with_name(out.name + "_2")
    assert (again / "labels.csv").read_text().splitlines() == ["episode,goal_share", "0,", "1,"]


def stop_and_resume(flags, at_step: int, total: int, env=None) -> tuple:
    """Starts a run, sends SIGTERM once it has logged a training row at or past at_step, checks that it saved
    mid-episode and said how to go on, then resumes it to the end. Returns its run folder and the step it stopped at."""
    run_dir = Path(flags[flags.index("--run-dir") + 1])
    proc = subprocess.Popen([sys.executable, str(ROOT / "vlmrm_sac.py"), *map(str, flags)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1",
                                                                      "HF_HUB_OFFLINE": "1", **(env or {})}, cwd=ROOT)
    deadline = time.time() + 300
    while time.time() < deadline:  # stop it once it is training, well before the end
        runs = list(run_dir.glob("*/metrics.csv")) if run_dir.exists() else []
        if runs and any(r["kind"] == "train" and r["qf_loss"] and int(r["global_step"]) >= at_step
                        for r in read_metrics(runs[0].parent)):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 143, out
    assert "--resume" in out
    run = only_run(run_dir)
    blob = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)
    stopped_at = blob["state"]["global_step"]
    assert at_step <= stopped_at < total and blob["buffer"] is not None
    assert (blob["episodes"]["length"] > 0).all() and blob["episodes"]["actions"]  # mid-episode
    run_script("--resume", run / "checkpoints" / "latest.pt", env=env)
    return run, stopped_at


def assert_same_run(a: list, b: list):
    assert len(a) == len(b) and [r["global_step"] for r in a] == [r["global_step"] for r in b]
    assert [r["env_return"] for r in a] == [r["env_return"] for r in b]  # same episodes, same returns
    assert [r["clip_return"] for r in a] == [r["clip_return"] for r in b]  # the same frames, scored alike
    assert [r["qf_loss"] for r in a] == [r["qf_loss"] for r in b]  # the same gradient steps, averaged alike


RESUME = ["--env-id", "MountainCarContinuous-v0", "--reward", "env", "--no-log-clip-reward", "--video-interval", 0,
          "--episode-length", 151, "--num-envs", 2, "--train-frequency", 20, "--gradient-steps", 10,
          "--learning-starts", 200, "--batch-size", 32, "--buffer-size", 100000, "--log-interval", 400,
          "--checkpoint-interval", 100000, "--total-timesteps", 2400, "--save-buffer", "--num-workers", 0,
          "--seed", 3]


def test_sigterm_then_resume_equals_a_straight_run(tmp_path):
    """SIGTERM: the run saves and exits with 143. Episodes of 151 steps never end at a stretch of 20 within the run,
    so the stop falls mid-episode: the resumed run replays the episode's actions and equals the straight run. The
    stopped run is tracked (W&B offline): its event files and its W&B run hold metrics.csv's values, each step once,
    and the resumed run continues the same W&B run. Both runs draw the actions, rewards and updates recorded in
    tests/data by this command's straight run (recorded to a larger total: its first 2,400 steps)."""
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    run_script(*RESUME, "--run-dir", straight)
    wandb_env = {"WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    run, stopped_at = stop_and_resume([*RESUME, "--track", "--run-dir", stopped], 1200, 2400, env=wandb_env)
    a, b = read_metrics(only_run(straight)), read_metrics(run)
    assert_same_run(a, b)
    assert_same_as_recorded(b, ROOT / "tests" / "data" / "golden_metrics_resume.csv", until=2400)

    live_view.assert_events_match(run, b)
    first, second = live_view.read_wandb(run)
    assert first["id"] == second["id"]  # one W&B run
    assert first["config"] == json.loads((run / "args.json").read_text())
    history = first["history"] + second["history"]
    assert max(r["global_step"] for r in first["history"]) <= stopped_at < min(r["global_step"] for r in second["history"])
    assert [r for r in history if not live_view.is_live_loss_point(r, b)] == live_view.tracked(b)
    live_steps = [r["global_step"] for r in history if live_view.is_live_loss_point(r, b)]
    assert live_steps and len(live_steps) == len(set(live_steps))
    final_a = torch.load(only_run(straight) / "checkpoints" / "latest.pt", weights_only=True)
    final_b = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)
    assert final_a["state"]["global_step"] == final_b["state"]["global_step"] == 2400
    for k, v in final_a["agent"].items():
        assert torch.equal(v, final_b["agent"][k]), k


def test_a_finished_run_continues_to_a_larger_total_refilling_its_buffer_first(tmp_path):
    """A run of 1,200 steps saved without its buffer: resumed as it is, it is refused with the way on; resumed with
    --total-timesteps 2400, args.json says 2400, and the gradient steps wait until the policy has put learning_starts
    (200) transitions back: stretches of 40 steps end at 1240, ..., 2400, and the first with more than 200 in the
    buffer ends at 1440, so 25 stretches of 10 gradient steps. A checkpoint of the first 1,200 steps, resumed then,
    trains to 1,200 again, and args.json says so."""
    flags = [f for f in RESUME if f != "--save-buffer"]
    flags[flags.index("--total-timesteps") + 1] = 1200
    flags[flags.index("--checkpoint-interval") + 1] = 400
    run_script(*flags, "--run-dir", tmp_path)
    run = only_run(tmp_path)
    latest = run / "checkpoints" / "latest.pt"
    before = torch.load(latest, weights_only=True)["state"]["gradient_step"]
    proc = run_script("--resume", latest, check=False)
    assert proc.returncode == 1 and "is at step 1,200 of its 1,200" in proc.stderr and "--total-timesteps" in proc.stderr
    proc = run_script("--resume", latest, "--total-timesteps", 2400)
    assert "gradient steps wait until it holds 201 transitions again" in proc.stdout
    assert json.loads((run / "args.json").read_text())["total_timesteps"] == 2400
    after = torch.load(latest, weights_only=True)["state"]
    assert after["global_step"] == 2400 and after["gradient_step"] - before == 25 * 10
    assert int(read_metrics(run)[-1]["global_step"]) == 2400
    run_script("--resume", run / "checkpoints" / "step_000000400.pt")  # saved by the first 1,200 steps: it trains to 1,200
    assert json.loads((run / "args.json").read_text())["total_timesteps"] == 1200
    assert int(read_metrics(run)[-1]["global_step"]) == 1200


def test_a_corrupt_checkpoint_gets_a_clear_error(tmp_path):
    bad = tmp_path / "latest.pt"
    bad.write_bytes(b"not a checkpoint")
    proc = run_script("--resume", bad, check=False)
    assert proc.returncode != 0 and "corrupt" in proc.stderr and "Traceback" not in proc.stderr
    torch.save({"something": "else"}, bad)
    proc = run_script("--eval-checkpoint", bad, check=False)
    assert "not a vlmrm_sac checkpoint" in proc.stderr


def test_a_checkpoint_gives_back_numpys_and_pythons_random_states_as_data(tmp_path):
    """NumPy's RNG state (a tuple holding a uint32 array, here with a cached Gaussian) and Python's, saved as data,
    set the generators back exactly; the loop draws from neither, so the resume tests cannot see them."""
    np.random.seed(5)
    np.random.randn(3)
    vs.save_checkpoint(tmp_path / "rng.pt", {"format": vs.CHECKPOINT_FORMAT,
                                             "rng": {"numpy": np.random.get_state(), "python": vs.random.getstate()}})
    expected = np.random.randn(4), vs.random.random()
    rng = vs.load_checkpoint(str(tmp_path / "rng.pt"))["rng"]
    np.random.set_state(rng["numpy"])
    vs.random.setstate(rng["python"])
    assert np.array_equal(np.random.randn(4), expected[0]) and vs.random.random() == expected[1]


class CreatesAFile:
    """Unpickled, it creates a file: what a hostile .pt could do with any function."""
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


def test_a_checkpoint_that_would_run_code_is_refused_unread(tmp_path):
    """A .pt whose pickle would create a file, lying where a run's checkpoint lies: given to --eval-checkpoint,
    --resume and --convert-checkpoint, each ends with one line (exit status 1); the file is never created and
    nothing is written beside the checkpoint."""
    made = tmp_path / "made_by_loading"
    hostile = tmp_path / "runs" / "run" / "checkpoints" / "latest.pt"
    hostile.parent.mkdir(parents=True)
    torch.save({"format": vs.CHECKPOINT_FORMAT, "args": CreatesAFile(made)}, hostile)
    content = hostile.read_bytes()
    for flag in ("--eval-checkpoint", "--resume", "--convert-checkpoint"):
        proc = run_script(flag, hostile, check=False)
        assert proc.returncode == 1 and "is refused unread: it would build io.open" in proc.stderr, proc.stderr
        assert proc.stderr.strip().count("\n") == 0 and not made.exists()
        assert [p for p in (tmp_path / "runs").rglob("*") if p.is_file()] == [hostile] and hostile.read_bytes() == content


def test_a_checkpoint_of_format_5_is_refused_until_converted_then_resumes_as_its_version_ran(tmp_path):
    """tests/data/format_5_run: a run of 1,200 steps by an older vlmrm_sac.py, ending mid-episode, whose checkpoint
    holds NumPy arrays (format 5). Resumed, it is refused in one line that gives the command to convert it; converted
    in place, it loads as data and, resumed to 2,400 steps, has the metrics rows recorded by that version's straight
    run of 2,400 steps."""
    run = tmp_path / "run"
    shutil.copytree(ROOT / "tests" / "data" / "format_5_run", run)
    latest = run / "checkpoints" / "latest.pt"
    proc = run_script("--resume", latest, "--total-timesteps", 2400, check=False)
    assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert f"was written by an older vlmrm_sac.py: convert it once with python vlmrm_sac.py --convert-checkpoint {latest}" in proc.stderr
    run_script("--convert-checkpoint", latest)
    assert torch.load(latest, weights_only=True)["format"] == vs.CHECKPOINT_FORMAT
    run_script("--resume", latest, "--total-timesteps", 2400)
    assert_same_as_recorded(read_metrics(run), ROOT / "tests" / "data" / "golden_metrics_format_5.csv")


@pytest.mark.parametrize("flags, message", [
    (["--env-id", "Humanoid-v9000"], "unknown env id"),
    (["--env-id", "CartPol-v1"], "did you mean CartPole-v1"),
    (["--alpha", "1.5"], "alpha must be in [0, 1]"),
    (["--alpha", "0.5"], "also pass --baseline-prompt"),
    (["--prompt", " "], "empty prompt"),
    (["--batch-size", "0"], "--batch-size must be positive"),
    (["--gamma", "1.5"], "--gamma must be in [0, 1]"),
    (["--ent-coef", "lots"], "--ent-coef must be 'auto', 'auto_X' or a number"),
    (["--device", "tpu"], "--device tpu: use auto, cpu, cuda or cuda:N"),
    (["--device", "meta"], "--device meta: use auto, cpu, cuda or cuda:N"),
    (["--device", "cuda:1"], "--device cuda:1: CUDA is not available"),
    (["--ent-coef", "auto_-1"], "--ent-coef must be 'auto', 'auto_X' or a number"),
    (["--batch-size", "600", "--buffer-size", "500"], "larger than --buffer-size"),
    (["--resume", "nowhere.pt"], "no checkpoint file"),
    (["--resume", "nowhere.pt", "--total-timesteps", "0"], "--total-timesteps must be positive, got 0"),
    (["--env-id", "Blackjack-v1", "--reward", "env", "--no-log-clip-reward", "--video-interval", "0"], "needs a state vector"),
    (["--env-id", "CartPole-v1", "--use-sde"], "--use-sde (state-dependent exploration noise) needs continuous actions"),
    (["--env-id", "Pendulum-v1", "--time-feature"], "--time-feature needs a fixed episode length"),
    (["--env-id", "CartPole-v1", "--buffer-size", "10000000000"], "the replay buffer (--buffer-size 10,000,000,000"),
    (["--env-id", "CartPole-v1", "--num-envs", "5000"], "the frame buffer (--train-frequency 100 x --num-envs 5000"),
    (["--env-id", "Humanoid-v5", "--render-size", "20000", "--train-frequency", "1", "--look", "generated"],
     "MuJoCo's offscreen buffers"),
    (["--run-dir", "/proc/vlmrm_runs"], "cannot write into /proc/vlmrm_runs"),
    (["--env-id", "CartPole-v1", "--renderer", "warp"], "--renderer warp draws the Humanoid envs"),
    (["--reward-frames", "0"], "--reward-frames must be between 1 and the episode length (100), got 0"),
    (["--env-id", "CartPole-v1", "--episode-length", "50", "--reward-frames", "51"],
     "--reward-frames must be between 1 and the episode length (50), got 51"),
    (["--renderer", "warp", "--render-size", "20000", "--train-frequency", "1000", "--look", "generated"],
     "the frame buffer (--train-frequency 1000 x --num-envs 32 x 20000x20000x3"),
    (["--log-prompt", " "], "empty prompt"),
    (["--log-prompt", "a robot falling", "--log-prompt", "a robot falling"], "is given twice"),
    (["--log-prompt", "a humanoid robot kneeling"], "is a goal prompt"),
    (["--alpha", "0.5", "--baseline-prompt", "a robot", "--log-prompt", "a robot"], "is the baseline prompt"),
    (["--reward", "env", "--no-log-clip-reward", "--log-prompt", "x"], "--log-prompt scores frames with the CLIP model"),
])
def test_bad_flags_are_refused_before_any_heavy_work(flags, message, tmp_path):
    """Refused with one line, before the model loads (the model given does not exist) and before anything is made."""
    proc = run_script("--clip-model", tmp_path / "no-model", "--run-dir", tmp_path, *flags, check=False)
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr  # one line
    assert not any(tmp_path.iterdir())  # no run directory was made


def test_a_missing_model_is_explained(tmp_path):
    proc = run_script("--env-id", "CartPole-v1", "--clip-model", tmp_path / "no-model", "--run-dir", tmp_path, check=False)
    assert proc.returncode != 0 and "could not load" in proc.stderr and "no local directory" in proc.stderr


# --- SAC's pieces -----------------------------------------------------------------------------


def test_squashed_gaussian_log_prob_is_sb3s_in_the_squashed_space():
    """SB3 2.0 (the authors' SAC): the action is y = tanh(u), u ~ N(mean, std), in [-1, 1], and log pi(y) is
    N's log-density minus sum log(1 - y^2 + 1e-6), whatever the env's bounds (the env rescales y)."""
    torch.manual_seed(0)
    mean, log_std = torch.randn(6, 3), torch.randn(6, 3).clamp(-2, 1)
    u = mean + log_std.exp() * torch.randn(6, 3)
    action, log_prob, _ = vs.squash(u, mean, log_std)
    torch.testing.assert_close(action, torch.tanh(u))
    normal = torch.distributions.Normal(mean, log_std.exp())
    sb3 = (normal.log_prob(u) - torch.log(1 - torch.tanh(u) ** 2 + 1e-6)).sum(-1)  # SquashedDiagGaussian.log_prob
    torch.testing.assert_close(log_prob, sb3)
    tanh = torch.distributions.TransformedDistribution(normal, [torch.distributions.TanhTransform()])
    torch.testing.assert_close(log_prob, tanh.log_prob(torch.tanh(u)).sum(-1), atol=2e-3, rtol=1e-3)  # 1e-6 epsilon


def test_the_policys_log_std_is_clamped_to_sb3s_bounds():
    actor = vs.SAC(3, gym.spaces.Box(-1.0, 1.0, (2,), np.float32), vs.Args(hidden_size=8), "cpu").actor
    with torch.no_grad():
        actor.net[-1].bias.copy_(torch.tensor([0.0, 0.0, -50.0, 50.0]))  # mean, then log std
        actor.net[-1].weight.zero_()
    _, log_std = actor(torch.randn(4, 3))
    assert log_std[:, 0].eq(-20).all() and log_std[:, 1].eq(2).all()  # SB3's [-20, 2], not CleanRL's [-5, 2]


def test_the_humanoids_entropy_target_and_log_prob_are_sb3s():
    """Humanoid actions lie in [-0.4, 0.4]: SAC acts in [-1, 1] and the env rescales (SB3 keeps the policy's, the
    buffer's and the critics' actions in [-1, 1]); the target is -17 and the log-prob is the squashed policy's."""
    env = vs.make_env("Humanoid-v5", render_size=64, look="generated")
    assert (env.action_space.low == -1).all() and (env.action_space.high == 1).all()
    assert (env.unwrapped.action_space.high == np.float32(0.4)).all()
    agent = vs.SAC(348, env.action_space, vs.Args(hidden_size=16), "cpu")
    assert agent.target_entropy == -17.0
    obs = torch.randn(5, 348)
    torch.manual_seed(1)
    action, log_prob, _ = agent.actor.get_action(obs)
    torch.manual_seed(1)
    mean, log_std = agent.actor(obs)
    u = mean + log_std.exp() * torch.randn_like(mean)
    y = torch.tanh(u)
    torch.testing.assert_close(action, y)
    sb3 = (torch.distributions.Normal(mean, log_std.exp()).log_prob(u) - torch.log(1 - y ** 2 + 1e-6)).sum(-1)
    torch.testing.assert_close(log_prob, sb3)


def test_gsde_noise_is_a_linear_function_of_the_last_hidden_layer_with_sb3s_log_prob():
    """gSDE (SB3's StateDependentNoiseDistribution, full std, squashed): u = mean + h @ W, W ~ N(0, exp(log_std)^2),
    log pi from N(mean, sqrt(h^2 @ exp(log_std)^2 + 1e-6)) and tanh's correction. With the same W an env acts the
    same in the same state (one consistent perturbed policy per stretch); a new W acts differently."""
    space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    actor = vs.SAC(3, space, vs.Args(hidden_size=16, use_sde=True, sde_log_std_init=-1.0), "cpu").actor
    assert actor.sde and actor.net[-1].out_features == 2  # the net gives only the mean
    torch.manual_seed(0)
    obs = torch.randn(4, 3)
    actor.resample_noise(4)  # one matrix per env
    action, log_prob, _ = actor.get_action(obs)
    h = actor.net[:-1](obs)
    mean = actor.net[-1](h).clamp(-2, 2)
    u = mean + torch.einsum("bh,bha->ba", h, actor.noise_weights)
    std = (h ** 2 @ actor.sde_log_std.exp() ** 2 + 1e-6).sqrt()
    sb3 = (torch.distributions.Normal(mean, std).log_prob(u) - torch.log(1 - torch.tanh(u) ** 2 + 1e-6)).sum(-1)
    torch.testing.assert_close(action, torch.tanh(u))
    torch.testing.assert_close(log_prob, sb3)
    torch.testing.assert_close(actor.get_action(obs).action, action)  # same weights, same state: same action
    actor.resample_noise(4)
    assert not torch.allclose(actor.get_action(obs).action, action)
    actor.resample_noise(1)  # one matrix for a whole batch (a gradient step)
    batch = torch.randn(32, 3)
    log_prob = actor.get_action(batch).log_prob
    log_prob.mean().backward()
    assert actor.sde_log_std.grad.abs().sum() > 0  # the noise scale is learned


def test_actions_stay_in_minus_one_one_and_the_env_rescales_them_to_its_bounds():
    env = vs.make_env("Pendulum-v1")  # torque in [-2, 2]
    agent = vs.SAC(3, env.action_space, vs.Args(hidden_size=16), "cpu")
    actions = agent.act(np.random.randn(1000, 3).astype(np.float32) * 10)
    assert actions.shape == (1000, 1) and (np.abs(actions) <= 1).all()
    env.reset(seed=0)
    env.step(np.array([0.5], np.float32))
    assert env.unwrapped.last_u == pytest.approx(1.0)  # 0.5 of the way from the middle to the top


def test_target_update_is_polyak_averaging():
    source, target = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    expected = [0.9 * t.detach().clone() + 0.1 * s.detach() for t, s in zip(target.parameters(), source.parameters())]
    vs.soft_update(target, source, 0.1)
    for t, e in zip(target.parameters(), expected):
        torch.testing.assert_close(t.detach(), e)


def test_discrete_policy_and_q_shapes_and_update():
    agent = vs.SAC(4, gym.spaces.Discrete(3), vs.Args(hidden_size=16), "cpu")
    obs = torch.randn(8, 4)
    action, log_probs, probs = agent.actor.get_action(obs)  # discrete: the whole distribution
    assert action.shape == (8,) and log_probs.shape == probs.shape == (8, 3)
    torch.testing.assert_close(probs.sum(-1), torch.ones(8))
    assert agent.qf1(obs).shape == (8, 3)
    batch = {"obs": obs, "next_obs": torch.randn(8, 4), "actions": action, "rewards": torch.randn(8), "dones": torch.zeros(8)}
    before = [p.clone() for p in agent.qf1.parameters()]
    out = agent.update(batch, vs.Args(), 0)
    assert all(torch.isfinite(v) for v in out.values())
    assert any(not torch.equal(b, p) for b, p in zip(before, agent.qf1.parameters()))


def test_replay_buffer_wraps_around_and_round_trips():
    buffer = vs.ReplayBuffer(5, 2, (1,), torch.float32, "cpu")
    for i in range(3):
        buffer.add(obs=np.full((3, 2), i), next_obs=np.zeros((3, 2)), actions=np.zeros((3, 1)), rewards=np.full(3, i),
                   dones=np.zeros(3))
    assert len(buffer) == 5 and buffer.pos == 4
    assert buffer.data["rewards"].tolist() == [1, 2, 2, 2, 1]  # slots 0-2 got 0s, 3,4,0 got 1s, 1-3 got 2s
    copy = vs.ReplayBuffer(5, 2, (1,), torch.float32, "cpu")
    copy.load_state_dict(buffer.state_dict())
    assert all(torch.equal(copy.data[k], buffer.data[k]) for k in buffer.data) and copy.pos == 4 and copy.full


# --- learning checks: ground-truth rewards, fixed seeds, margins a correct SAC clears easily -------


@pytest.mark.slow
def test_sac_learns_pendulum(tmp_path):
    """SAC on the ground-truth reward: the last 10 episodes' mean return far above random play's (about -1,200).
    A stretch is one step here, so the env steps in this process and the losses go to no TensorBoard: their costs
    per stretch would count 10,000 times."""
    run_script("--env-id", "Pendulum-v1", "--reward", "env", "--no-log-clip-reward", "--video-interval", 0,
               "--num-envs", 1, "--total-timesteps", 10000, "--learning-starts", 4000, "--train-frequency", 1,
               "--gradient-steps", 1, "--batch-size", 256, "--gamma", 0.99, "--policy-lr", 3e-4, "--q-lr", 1e-3,
               "--buffer-size", 100000, "--hidden-size", 64, "--log-interval", 5000, "--checkpoint-interval", 100000,
               "--num-workers", 0, "--no-tensorboard", "--seed", 1, "--run-dir", tmp_path, timeout=1200)
    returns = [float(r["env_return"]) for r in read_metrics(only_run(tmp_path)) if r["kind"] == "episode"]
    assert len(returns) == 50
    assert np.mean(returns[-10:]) > -300, returns[-10:]


@pytest.mark.slow
def test_discrete_sac_balances_cartpole(tmp_path):
    """Discrete SAC with the settings of the CLIP-rewarded check below, on the ground-truth reward, balances the pole."""
    run_script("--env-id", "CartPole-v1", "--reward", "env", "--no-log-clip-reward", *CARTPOLE_SETTINGS,
               "--run-dir", tmp_path, timeout=1200)
    returns = [float(r["env_return"]) for r in read_metrics(only_run(tmp_path)) if r["kind"] == "episode"]
    assert len(returns) == 8 * 8  # 8 envs x 8 episodes of 200 steps
    # Random play keeps the pole up for ~30 of 200 steps; balancing keeps it up nearly all episode
    assert np.mean(returns[-16:]) > 120, returns


# --- the central claim end to end: a sentence, through a CLIP's view of the frames, drives SAC to the goal ------


def test_each_transition_is_rewarded_for_the_frame_of_the_state_it_reached(tmp_path):
    """Frames and rewards line up: every reward in the replay buffer is the CLIP reward of the frame of that
    transition's next state, re-rendered here from the state itself (CartPole observes its whole state), plus
    --reward-offset; each logged CLIP return, and the reward shown under each video frame, is the model's own,
    without the offset; a --log-prompt's logged return is its reward under the same rule, summed over the same
    frames. A reward of the frame one step earlier, or of a neighbouring env's frame, would not match."""
    import plot

    offset = -0.25
    run_script("--env-id", "CartPole-v1", *CARTPOLE_CLIP, "--num-envs", 3, "--total-timesteps", 450, "--learning-starts",
               450, "--train-frequency", 50, "--episode-length", 40, "--video-interval", 100, "--save-buffer",
               "--reward-offset", offset, "--log-prompt", "pole fallen to the left", "--run-dir", tmp_path)
    data = torch.load(only_run(tmp_path) / "checkpoints" / "latest.pt", weights_only=True)["buffer"]["data"]
    assert len(data["rewards"]) == 450
    # done = 1 exactly at each 40-step episode's last step (no bootstrap through it), 0 elsewhere
    last_step = (torch.arange(150) % 40 == 39).float()[:, None].expand(150, 3)
    assert torch.equal(data["dones"].view(150, 3), last_step)
    reward = vs.CLIPReward(str(CARTPOLE_CLIP[1]), [GOAL], [BASELINE], alpha=0.5)
    expected = reward(plot.render_states("CartPole-v1", data["next_obs"].double().numpy()))
    matches = (data["rewards"] - (expected + offset)).abs() < 1e-5
    assert matches.float().mean() > 0.98, (data["rewards"][:8], expected[:8])  # float32 observations: a rare pixel
    earlier = (data["rewards"][3:] - (expected[:-3] + offset)).abs() < 1e-5  # the buffer holds (step, env) in order
    assert earlier.float().mean() < 0.5
    episodes = [r for r in read_metrics(only_run(tmp_path)) if r["kind"] == "episode"]
    assert len(episodes) == 9
    fallen = vs.CLIPReward(str(CARTPOLE_CLIP[1]), ["pole fallen to the left"], [BASELINE], alpha=0.5)
    fallen = fallen(plot.render_states("CartPole-v1", data["next_obs"].double().numpy()))
    for e in range(3):  # env e's three finished episodes: steps 0-39, 40-79, 80-119 (an offset logged: 10 off)
        logged = [float(r["clip_return"]) for r in episodes if int(r["env"]) == e]
        np.testing.assert_allclose(logged, expected.view(150, 3)[:120, e].reshape(3, 40).sum(1).numpy(), atol=0.02)
        logged = [float(r["clip_return[pole fallen to the left]"]) for r in episodes if int(r["env"]) == e]
        np.testing.assert_allclose(logged, fallen.view(150, 3)[:120, e].reshape(3, 40).sum(1).numpy(), atol=0.02)
    # Videos of env 0's next episode at the stretches starting at global steps 0 and 150: its episodes 1 and 3,
    # named by the global step they end at
    videos = sorted((only_run(tmp_path) / "videos").glob("*.rewards.txt"))
    assert [v.name for v in videos] == ["step_000000120.rewards.txt", "step_000000360.rewards.txt"]
    for k, v in zip((0, 2), videos):
        np.testing.assert_allclose(np.loadtxt(v), expected.view(150, 3)[40 * k:40 * (k + 1), 0].numpy(), atol=1e-4)


@pytest.mark.slow
def test_clip_rewarded_discrete_sac_balances_cartpole(tmp_path):
    """Discrete SAC trained only on the CLIP reward of the paper's CartPole prompt and baseline, scored by a CLIP
    trained on the project's frames (results/mini_clip/cartpole_tiny), balances the pole: the ground-truth return,
    which SAC never sees, ends far above random play's (about 30 of 200). A reward of the wrong sign or of another
    env's frame fails it; a reward one frame late only slows learning, which the alignment test above catches."""
    run_script("--env-id", "CartPole-v1", *CARTPOLE_CLIP, *CARTPOLE_SETTINGS, "--run-dir", tmp_path, timeout=1200)
    returns = [float(r["env_return"]) for r in read_metrics(only_run(tmp_path)) if r["kind"] == "episode"]
    assert len(returns) == 8 * 8  # 8 envs x 8 episodes of 200 steps
    assert np.mean(returns[:8]) < 60, returns  # the first episodes: random actions
    assert np.mean(returns[-16:]) > 120, returns


def test_a_resumed_runs_event_files_hide_what_was_logged_after_its_checkpoint(tmp_path):
    """A run killed after its checkpoint at step 5 had logged steps up to 10; resumed from step 5, it logs 6-8 again:
    TensorBoard's reader sees steps 1-8 once each, with the resumed run's values after step 5."""
    args = vs.Args(env_id="CartPole-v1")
    with vs.Tracker(args, tmp_path, resumed_at=None) as tracker:
        for step in range(1, 11):
            tracker.log(step, {"charts/episodic_return": float(step)})
    with vs.Tracker(args, tmp_path, resumed_at=5) as tracker:
        for step in range(6, 9):
            tracker.log(step, {"charts/episodic_return": 100.0 + step})
    scalars, _ = live_view.read_events(tmp_path)
    assert scalars["charts/episodic_return"] == [(s, float(s)) for s in range(1, 6)] + [(s, 100.0 + s) for s in range(6, 9)]


# Humanoid under both renderers: episodes of 60 vector steps, so a stop at a stretch of 25 falls mid-episode
WARP = ["--env-id", "Humanoid-v5", "--look", "generated", "--render-size", 64, "--episode-length", 60, "--num-envs", 2,
        "--total-timesteps", 1200, "--learning-starts", 200, "--train-frequency", 25, "--gradient-steps", 10,
        "--batch-size", 32, "--buffer-size", 5000, "--log-interval", 200, "--video-interval", 0, "--save-buffer",
        "--checkpoint-interval", 100000, "--reward-batch-size", 64, "--seed", 2]


def test_a_warp_rendered_run_steps_as_the_egl_run_and_only_its_frames_differ(tmp_path, tiny_clip):
    """--renderer warp changes who draws the frames, not the envs: trained on the env's reward with the CLIP reward
    logged, the run has EGL's observations, returns and losses; only the logged CLIP returns differ, and by little.
    400 steps are enough (EGL draws paper-quality frames slowly on a CPU): past --learning-starts 200 the policy acts
    and trains for 4 stretches, over 10 episodes of 40 steps."""
    flags = list(WARP)
    flags[flags.index("--episode-length") + 1], flags[flags.index("--total-timesteps") + 1] = 40, 400
    runs = {}
    for renderer in ("egl", "warp"):
        run_script(*flags, "--reward", "env", "--clip-model", tiny_clip, "--renderer", renderer, "--run-dir", tmp_path / renderer)
        runs[renderer] = only_run(tmp_path / renderer)
    a, b = read_metrics(runs["egl"]), read_metrics(runs["warp"])
    assert [r["env_return"] for r in a] == [r["env_return"] for r in b] and [r["qf_loss"] for r in a] == [r["qf_loss"] for r in b]
    buffers = [torch.load(run / "checkpoints" / "latest.pt", weights_only=True)["buffer"]["data"] for run in runs.values()]
    assert all(torch.equal(buffers[0][k], buffers[1][k]) for k in ("obs", "next_obs", "actions", "rewards", "dones"))
    clip_a, clip_b = (np.array([float(r["clip_return"]) for r in rows if r["kind"] == "episode"]) for rows in (a, b))
    assert len(clip_a) == 400 // 40 and not np.array_equal(clip_a, clip_b)
    # the renderers agree on which episodes look more like the goal; Warp's 64-pixel frames (aliased, one sample per
    # pixel) move this random CLIP's every reward by about the same amount: measured +0.36 per 40-step episode
    assert np.corrcoef(clip_a, clip_b)[0, 1] > 0.9 and np.abs(clip_b - clip_a).mean() < 0.3 * np.abs(clip_a).mean()


def test_a_warp_rendered_clip_run_resumed_equals_a_straight_one(tmp_path, tiny_clip):
    """Trained on the CLIP reward of Warp's frames: stopped mid-episode and resumed, the run equals a straight one."""
    flags = [*WARP, "--clip-model", tiny_clip, "--renderer", "warp", "--num-workers", 0]
    run_script(*flags, "--run-dir", tmp_path / "straight")
    run, _ = stop_and_resume([*flags, "--run-dir", tmp_path / "stopped"], 600, 1200)
    assert_same_run(read_metrics(only_run(tmp_path / "straight")), read_metrics(run))


def test_a_video_rewarded_run_of_k_frame_windows_resumed_equals_a_straight_one(tmp_path, tiny_xclip):
    """--reward-frames 4 with a video model (a tiny X-CLIP): the windows run over stretch edges (stretches of 20
    steps, episodes of 151) and through the checkpoint. Stopped mid-episode and resumed, the run equals a straight
    one; an evaluation scores each frame's window."""
    flags = ["--env-id", "CartPole-v1", "--clip-model", tiny_xclip, "--reward-frames", 4, "--episode-length", 151,
             "--num-envs", 2, "--train-frequency", 20, "--gradient-steps", 10, "--learning-starts", 200,
             "--batch-size", 32, "--buffer-size", 100000, "--log-interval", 400, "--checkpoint-interval", 100000,
             "--total-timesteps", 1200, "--save-buffer", "--num-workers", 0, "--video-interval", 0, "--seed", 3]
    run_script(*flags, "--run-dir", tmp_path / "straight")
    run, _ = stop_and_resume([*flags, "--run-dir", tmp_path / "stopped"], 400, 1200)
    rows = read_metrics(run)
    assert_same_run(read_metrics(only_run(tmp_path / "straight")), rows)
    returns = [float(r["clip_return"]) for r in rows if r["kind"] == "episode"]
    assert len(returns) == 2 * (600 // 151) and all(math.isfinite(r) for r in returns)
    run_script("--eval-checkpoint", run / "checkpoints" / "latest.pt", "--eval-episodes", 1, "--num-workers", 0)
    (episode,) = (run / "eval_000001200" / "frames").glob("*.npz")
    assert len(np.load(episode)["clip_rewards"]) == 151
