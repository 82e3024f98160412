"""plot.py: every subcommand end to end (tiny CLIP, synthetic run logs and labels), EPIC against closed forms."""

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import plot

ROOT = Path(__file__).resolve().parents[1]


def run_plot(*args, cwd=ROOT, timeout=600):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, str(Path(cwd) / "plot.py"), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    return proc


def read(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def assert_figure(out: Path, name: str, columns: set):
    for ext in ("png", "pdf"):
        assert (out / f"{name}.{ext}").stat().st_size > 1000
    rows = read(out / f"{name}.csv")
    assert rows and columns <= set(rows[0]), rows[0].keys()
    return rows


# --- EPIC distance against closed forms


def test_epic_of_identical_rewards_is_zero_and_of_negated_rewards_is_one():
    labels = np.array([0, 1, 1, 0, 1, 0, 0], dtype=float)
    assert plot.epic_distance(labels, labels) == pytest.approx(0, abs=1e-7)
    assert plot.epic_distance(3 * labels + 2, labels) == pytest.approx(0, abs=1e-7)  # affine invariant
    assert plot.epic_distance(-labels, labels) == pytest.approx(1)


def test_epic_of_a_constructed_correlation_has_its_known_distance():
    # r = [0, 0, 0, 1], labels = [0, 0, 1, 1]: cov = 1/8, std_r = sqrt(3)/4, std_l = 1/2, so rho = 1/sqrt(3)
    r, labels = np.array([0, 0, 0, 1.0]), np.array([0, 0, 1, 1.0])
    assert plot.epic_distance(r, labels) == pytest.approx(math.sqrt((1 - 1 / math.sqrt(3)) / 2))
    # uncorrelated: rho = 0, D = sqrt(1/2)
    assert plot.epic_distance(np.array([0, 1, 0, 1.0]), labels) == pytest.approx(math.sqrt(0.5))


def test_ground_truth_labels_follow_the_paper_rules():
    states, labels = plot.ground_truth_states("MountainCarContinuous-v0", 200)
    assert np.array_equal(labels, states[:, 0] >= 0.45) and labels.any() and not labels.all()
    states, labels = plot.ground_truth_states("CartPole-v1", 200)
    assert np.array_equal(labels, np.abs(states[:, 2]) < 12 * 2 * math.pi / 360) and labels.any() and not labels.all()


# --- subcommands on the tiny CLIP: shapes and files only (its rewards mean nothing)


def test_landscape(tiny_clip, tiny_siglip, tmp_path):
    run_plot("landscape", "--clip-model", tiny_clip, "--mountaincar-clip-model", tiny_siglip, "--points", 5, "--look", "generated",
             "--alphas", 0, 1, "--out-dir", tmp_path)
    rows = assert_figure(tmp_path, "landscape", {"env", "look", "model", "x", "alpha", "reward", "reward_rescaled"})
    assert len(rows) == 3 * 5 * 2
    assert {(r["env"], r["model"]) for r in rows} == {("CartPole-v1", tiny_clip), ("MountainCarContinuous-v0", tiny_siglip)}
    for look in ("stock", "generated"):
        scaled = [float(r["reward_rescaled"]) for r in rows if r["look"] == look and r["alpha"] == "0.0"]
        assert min(scaled) == 0 and max(scaled) == 1


def test_epic_and_reward_hist_from_ground_truth(tiny_clip, tmp_path):
    run_plot("epic", "--clip-models", tiny_clip, tiny_clip, "--env-id", "MountainCarContinuous-v0", "--states", 30, "--look", "generated",
             "--alphas", 0, 0.5, "--out-dir", tmp_path)
    rows = assert_figure(tmp_path, "epic", {"model", "parameters", "alpha", "epic"})
    assert len(rows) == 4 and all(0 <= float(r["epic"]) <= 1 for r in rows)
    run_plot("reward-hist", "--clip-models", tiny_clip, "--env-id", "CartPole-v1", "--states", 30, "--out-dir", tmp_path)
    rows = assert_figure(tmp_path, "reward_hist", {"model", "goal", "reward", "standardized"})
    assert len(rows) == 30 and abs(np.mean([float(r["standardized"]) for r in rows])) < 1e-5


@pytest.mark.parametrize("env_id, model", [("CartPole-v1", "cartpole_tiny"), ("MountainCarContinuous-v0", "mountaincar_tiny")])
def test_the_clip_trained_here_tells_goal_states_apart(env_id, model, tmp_path):
    """The tiny CLIPs trained on the project's frames (results/mini_clip, tests/mini_clip.py) with the paper's prompts:
    EPIC distance to the ground-truth goal labels well below a reward unrelated to the goal (sqrt(1/2) = 0.71).
    Measured: CartPole 0.50, MountainCar 0.25 at alpha 0."""
    run_plot("epic", "--clip-models", ROOT / "results" / "mini_clip" / model, "--env-id", env_id, "--states", 200, "--look", "generated",
             "--alphas", 0, 1, "--name", "epic_trained", "--out-dir", tmp_path)
    rows = assert_figure(tmp_path, "epic_trained", {"model", "parameters", "alpha", "epic"})
    assert float(rows[0]["epic"]) < 0.6, rows


def make_eval_dir(path: Path, episodes=3, steps=8):
    rng = np.random.default_rng(0)
    (path / "frames").mkdir(parents=True)
    for k in range(episodes):
        np.savez_compressed(path / "frames" / f"episode_{k:03d}.npz",
                            frames=rng.integers(0, 256, (steps, 24, 32, 3), dtype=np.uint8), clip_rewards=rng.random(steps))
    (path / "labels.csv").write_text("episode,goal_share\n0,100\n1,0\n2,50\n")
    return path


def test_epic_from_labelled_evaluation_frames(tiny_clip, tmp_path):
    eval_dir = make_eval_dir(tmp_path / "eval")
    frames, labels = plot.labelled_frames(eval_dir)
    assert frames.shape == (16, 24, 32, 3) and labels.sum() == 8  # episodes 0 (all goal) and 1 (none); 2 is partial
    (eval_dir / "frame_labels.csv").write_text("episode,step,goal\n0,0,1\n0,1,0\n2,7,1\n")
    frames, labels = plot.labelled_frames(eval_dir)
    assert frames.shape == (3, 24, 32, 3) and labels.tolist() == [True, False, True]
    run_plot("epic", "--clip-models", tiny_clip, "--eval-dir", eval_dir, "--prompt", "a robot", "--baseline-prompt",
             "a cart", "--out-dir", tmp_path)
    assert all(r["states"] == "3" for r in read(tmp_path / "epic.csv"))


def test_probe_scores_varied_humanoid_poses(tiny_clip, tmp_path):
    run_plot("probe", "--clip-model", tiny_clip, "--states", 6, "--top", 2, "--render-size", 64, "--look", "generated",
             "--out-dir", tmp_path)
    rows = assert_figure(tmp_path, "probe_hist", {"state", "alpha", "reward"})
    assert len(rows) == 6 * 3
    sheet = assert_figure(tmp_path, "probe_sheet", {"rank", "where", "reward"})
    rewards = [float(r["reward"]) for r in sheet]
    assert [r["where"] for r in sheet] == ["top"] * 2 + ["bottom"] * 2 and rewards == sorted(rewards, reverse=True)


def test_probe_poses_differ():
    frames = plot.probe_frames("Humanoid-v5", 4, seed=0, render_size=48, look="generated")
    assert frames.shape == (4, 48, 48, 3)
    assert len({f.tobytes() for f in frames}) == 4


def write_run(path: Path, seed: int, env_id="Pendulum-v1"):
    path.mkdir(parents=True)
    (path / "args.json").write_text(json.dumps({"env_id": env_id, "exp_name": "test", "reward": "env", "seed": seed}))
    with open(path / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["global_step", "kind", "clip_return", "env_return", "success", "qf_loss"])
        writer.writeheader()
        for step in range(200, 4001, 200):
            writer.writerow({"global_step": step, "kind": "episode", "clip_return": "", "env_return": -1000 + step / 4 + seed,
                             "success": ""})
            writer.writerow({"global_step": step, "kind": "train", "qf_loss": 1.0})


def test_curves_average_over_seeds(tmp_path):
    for seed in (1, 2, 3):
        write_run(tmp_path / "runs" / f"run{seed}", seed)
    run_plot("curves", "--runs", f"{tmp_path}/runs/*", "--bins", 4, "--out-dir", tmp_path)
    rows = assert_figure(tmp_path, "curves", {"group", "metric", "step", "mean", "min", "max", "seeds"})
    assert {r["metric"] for r in rows} == {"env_return"}  # CLIP return and success are empty in these logs
    assert [int(r["seeds"]) for r in rows] == [3] * 4
    first = rows[0]  # steps 200..1000 (5 episodes per seed): mean return -1000 + 600/4 + mean seed 2
    assert float(first["mean"]) == pytest.approx(-1000 + 150 + 2) and float(first["min"]) == pytest.approx(-849)


def test_prompts_figure_of_runs_with_logged_prompts(tmp_path):
    """Each logged sentence's return, the goal's vote share and both returns, averaged over seeds."""
    columns = ["global_step", "kind", "clip_return", "env_return", "success", "clip_return[pole fallen]", "goal_vote_share"]
    for seed in (1, 2):
        run = tmp_path / "runs" / f"run{seed}"
        run.mkdir(parents=True)
        (run / "args.json").write_text(json.dumps({"env_id": "CartPole-v1", "exp_name": "x", "reward": "clip", "seed": seed}))
        with open(run / "metrics.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, columns)
            writer.writeheader()
            for step in range(200, 4001, 200):
                writer.writerow({"global_step": step, "kind": "episode", "clip_return": step / 100, "env_return": step / 20,
                                 "success": 1, "clip_return[pole fallen]": -step / 100 - seed, "goal_vote_share": step / 4000})
    write_run(tmp_path / "runs" / "without", 1)  # a run without logged prompts is left out
    run_plot("prompts", "--runs", f"{tmp_path}/runs/*", "--bins", 4, "--out-dir", tmp_path)
    rows = assert_figure(tmp_path, "prompts", {"group", "metric", "step", "mean", "min", "max", "seeds"})
    assert {r["metric"] for r in rows} == {"clip_return", "clip_return[pole fallen]", "goal_vote_share", "env_return"}
    assert {r["group"] for r in rows} == {"CartPole-v1 x (reward clip)"} and {r["seeds"] for r in rows} == {"2"}
    fallen = [r for r in rows if r["metric"] == "clip_return[pole fallen]"]
    assert float(fallen[0]["mean"]) == pytest.approx(-6 - 1.5) and float(fallen[0]["min"]) == pytest.approx(-8)


def test_success_histogram_from_labels(tmp_path):
    (tmp_path / "a.csv").write_text("episode,goal_share\n0,100\n1,75\n2,0\n3,50\n")
    (tmp_path / "b.csv").write_text("episode,goal_share\n0,0\n1,25\n")
    run_plot("success", "--labels", f"kneeling={tmp_path / 'a.csv'}", f"lotus={tmp_path / 'b.csv'}", "--out-dir", tmp_path)
    rows = assert_figure(tmp_path, "success", {"name", "goal_percent", "fraction", "success_rate"})
    rates = {r["name"]: float(r["success_rate"]) for r in rows}
    assert rates == {"kneeling": 0.75, "lotus": 0.0}


def test_fig5_bars_of_half_an_episode_and_more_are_exactly_the_successes():
    """An episode's share of steps in the pose is rounded down to a quarter, so the 50, 75 and 100% bars hold exactly
    the episodes that vlmrm_sac.pose_success counts; a person's quarter labels stay as labelled."""
    assert [plot.quarter(s) for s in (0.0, 0.2499, 0.25, 0.4999, 0.5, 0.74, 0.75, 0.99, 1.0)] == [0, 0, 25, 25, 50, 50, 75, 75, 100]
    assert [plot.quarter(q / 100) for q in plot.QUARTERS] == list(plot.QUARTERS)
    shares = [k / 100 for k in range(101)] + [49 / 100, 50 / 100, 37 / 74, 36 / 74]  # 100-step and 74-step episodes
    fig, rows = plot.fig5({"x": (shares, "")}, "share")
    fractions = {r["goal_percent"]: r["fraction"] for r in rows}
    assert fractions[50] + fractions[75] + fractions[100] == pytest.approx(rows[0]["success_rate"]) == 53 / 105
    assert sum(fractions.values()) == pytest.approx(1.0)


def test_spin_figure_from_the_experiments_table(tmp_path):
    table = tmp_path / "spin.csv"
    table.write_text("model,prompt,seed,share_of_prompt_direction,mean_angular_velocity,run\n"
                     "xclip,clockwise,1,0.9,-3.1,a\nxclip,clockwise,2,0.8,-2.5,b\nclip,clockwise,1,0.5,0.1,c\n")
    run_plot("spin", "--data", table, "--out-dir", tmp_path)
    rows = assert_figure(tmp_path, "spin", {"model", "prompt", "seed", "share_of_prompt_direction"})
    assert [(r["model"], r["seed"]) for r in rows] == [("xclip", "1"), ("xclip", "2"), ("clip", "1")]


def test_sheets_one_per_episode(tmp_path):
    eval_dir = make_eval_dir(tmp_path / "eval")
    run_plot("sheets", "--eval-dir", eval_dir, "--every", 2)
    assert sorted(p.name for p in (eval_dir / "sheets").iterdir()) == [f"episode_{k:03d}.png" for k in range(3)]


def test_all_on_a_clean_checkout(tmp_path):
    """`plot.py all` from a copy of the committed results: no GPU, no model download, no runs/ needed."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "results", checkout / "results", ignore=shutil.ignore_patterns("figures"))
    for name in ("plot.py", "vlmrm_sac.py"):
        shutil.copy(ROOT / name, checkout / name)
    proc = run_plot("all", cwd=checkout)
    assert "not made by `all`" in proc.stdout
    committed = sorted(p.name for p in (ROOT / "results" / "figures").glob("*.csv")) if (ROOT / "results" / "figures").exists() else []
    made = sorted(p.name for p in (checkout / "results" / "figures").glob("*.csv")) if (checkout / "results" / "figures").exists() else []
    assert made == [n for n in committed if n.startswith(("curves_", "poses_", "prompts_", "success", "spin", "yardstick_"))]


def test_verify_passes_on_the_checkout_and_counts_per_file():
    proc = run_plot("verify")
    assert "every number agrees with the committed data or carries the mark" in proc.stdout
    for name in ("results/README.md", "results/benchmarks.md"):
        line = next(l for l in proc.stdout.splitlines() if l.startswith(name))
        assert " recomputed" in line and f"marked {plot.UNCHECKED}" in line, line


def verify_errors(tmp_path, readme=None, benchmarks=None, removed=None) -> list[str]:
    """plot.py verify's findings on the committed results/README.md and benchmarks.md, each with one text replaced
    (readme, benchmarks: (printed, changed)), and on a copy of results/ (links to the committed files) without the
    file `removed`; the evaluations' states are checked too when one is removed."""
    results = ROOT / "results"
    if removed:
        results = tmp_path / "results"
        shutil.copytree(ROOT / "results", results, copy_function=os.symlink, ignore=shutil.ignore_patterns("*.mp4", "*.pt"))
        (results / removed).unlink()
    errors = []
    for name, change, check in (("README.md", readme, lambda p: plot.check_readme(p, results)[0]),
                                ("benchmarks.md", benchmarks, lambda p: plot.check_benchmarks(p, results))):
        text = (ROOT / "results" / name).read_text()
        if change:
            assert text.count(change[0]) == 1, change[0]
            text = text.replace(*change)
        (tmp_path / name).write_text(text)
        try:
            tally = check(tmp_path / name)
        except SystemExit as e:  # a missing record the rule reads
            errors.append(str(e))
            continue
        tally.account(name, text)
        errors += tally.errors
    if removed:
        errors += plot.check_humanoid_states(results)[1] + plot.check_spin_csv(results)[1]
    return errors


@pytest.mark.parametrize("printed, changed, found", [
    # a table cell
    ("| 70% / 100% / 98% |", "| 70% / 100% / 97% |", "'ground truth': last 50 episodes: success, seed 3: found 97"),
    ('| "a humanoid robot standing up" | 1 | 0% | 95% |', '| "a humanoid robot standing up" | 1 | 0% | 94% |',
     "episodes standing (of 100): found 94, expected 95"),
    ("| 1 | `humanoid_small_visited` | 896,000 | 14% |", "| 1 | `humanoid_small_visited` | 896,000 | 41% |",
     "episodes kneeling (of 100): found 41, expected 14"),
    ("| 1 | `humanoid_small_visited` | 896,000 |", "| 1 | `humanoid_small_visited` | 768,000 |",
     "no evaluation of seed 1 with humanoid_small_visited at step 768,000"),
    ("late success 77% vs 89% (86% of it)", "late success 77% vs 89% (87% of it)", "'MountainCar (the authors' goal rule), `--alpha 0"),
    ("| `humanoid_small_visited` | 0.795 | 0.850 |", "| `humanoid_small_visited` | 0.795 | 0.950 |",
     "AUC, visited states: found 0.950, expected 0.8499"),
    # a prose number
    ("Seed 2 kneels in 66% of its episodes", "Seed 2 kneels in 76% of its episodes", "seed 2's episodes kneeling at 2M: found 76"),
    ("is 16%, 80% and 27%", "is 16%, 81% and 27%", "the training success of the last 50k steps"),
    # a number added without the mark
    ("### Reward-model figures (Fig. 2, 4, 7 of the paper)\n", "### Reward-model figures (Fig. 2, 4, 7 of the paper)\n\nThey took 3 hours.\n",
     "1 of its numbers neither recomputed nor marked [^unchecked]: 3"),
    # a deleted row
    ('| "a humanoid robot kneeling" | 2 | `humanoid_small_visited` | 1,921,600 | 66% | 0% | 55.5% / 2.0% | 33.0 |\n', "",
     "no row reports Humanoid-v5__kneeling_visited__2__1796597619/eval_001921600"),
    ("| ground truth | 1 / 2 / 3 / 4 / 5 / 6 | 39 (from 33k)", "| ground truth | 1 / 2 / 3 / 4 / 5 | 39 (from 33k)", "seeds: found 1, 2, 3, 4, 5"),
    ("| 3 | 39.4 -> 177.3 |", "| 4 | 39.4 -> 177.3 |", "no row reports logged: 3"),
    # a humanoid run is found by its reward rule too: the cosine and the softmax runs share model and prompt
    ("| 1 | `humanoid_small` | softmax | 1,536,000 |", "| 1 | `humanoid_small` | projection | 1,536,000 |",
     "no evaluation of seed 1 with humanoid_small at step 1,536,000"),
    # the yardstick's tables: a cell, a rule's row, a model's row
    ("| `humanoid_small_visited_128` | 1,327,873 | 128 |", "| `humanoid_small_visited_128` | 1,327,873 | 64 |",
     "input (px): found 64, expected 128"),
    ("| `humanoid_small_visited_knee60` | softmax | 0.480 |", "| `humanoid_small_visited_knee60` | softmax | 0.470 |",
     "EPIC: found 0.470, expected 0.480"),
    ("| `humanoid_small_one_knee` | 1,321,729 | 64 |", "| `humanoid_small_one_kne` | 1,321,729 | 64 |",
     "no row reports yardstick: humanoid_small_one_knee: projection, alpha 0"),
    # the Table 1 model's table: a cell, a number where its pose has no frame, a prompt's row; its size in prose
    ("| 1,169 / 220 / 0 | 0.15 / - |", "| 1,169 / 220 / 0 | 0.25 / - |", "zero-shot accuracy: built / visited: found 0.25, expected 0.1455"),
    ("| 1,169 / 220 / 0 | 0.15 / - | 0.951 / - |", "| 1,169 / 220 / 0 | 0.15 / - | 0.951 / 0.9 |",
     "AUC vs rest: built / visited: found 0.9, expected nothing"),
    ('| "a humanoid robot standing up on one leg" | 1,389 / 214 / 7 | 0.60 / 0.14 | 0.967 / 0.962 |\n', "",
     "no row reports table1: a humanoid robot standing up on one leg"),
    ("The model has\n1,331,585 parameters", "The model has\n1,331,586 parameters", "humanoid_small_table1's size and time: found 1331586"),
])
def test_verify_fails_naming_a_changed_number_or_a_deleted_row_of_the_results(tmp_path, printed, changed, found):
    errors = verify_errors(tmp_path, readme=(printed, changed))
    assert any(found in e for e in errors), errors


@pytest.mark.parametrize("printed, changed, found", [
    ("1.4 times one", "1.5 times one", "both threads against one: found 1.5"),
    ("about 580 for the", "about 560 for the", "the two runs' steps/s together: found 560"),
    ("): 290 and 293 env steps/s", "): 289 and 293 env steps/s", "the humanoid runs' steps/s: found 289, 293"),  # 289.53
    ("\n399.0 of the table above", "\n349.0 of the table above", "both threads, in the table above: found 349.0"),
])
def test_verify_fails_naming_a_changed_figure_of_the_benchmarks(tmp_path, printed, changed, found):
    errors = verify_errors(tmp_path, benchmarks=(printed, changed))
    assert any(found in e for e in errors), errors


@pytest.mark.parametrize("removed, found", [
    ("runs/humanoid_poses/Humanoid-v5__standing__2__1796585381/eval_000896000/states.npz", "states.npz is missing"),
    ("mini_clip/humanoid_small_visited/eval.json", "humanoid_small_visited/eval.json is missing"),
    ("runs/mountaincar_authors_rule/MountainCarContinuous-v0__sac_gsde_env_reward__2__1796405645/metrics.csv",
     "metrics.csv is missing"),
    ("runs/pendulum_spin/Pendulum-v1__spin_clip_clockwise__2__1796594551/angular_velocity.npy", "angular_velocity.npy is missing"),
])
def test_verify_fails_naming_a_missing_record(tmp_path, removed, found):
    assert (ROOT / "results" / removed).exists()
    errors = verify_errors(tmp_path, removed=removed)
    assert any(found in e for e in errors), errors


def test_spin_csv_is_recomputed_from_each_runs_angular_velocities(tmp_path):
    """spin_row against a count written here; check_spin_csv catches a changed row and names a run with no records."""
    folder = tmp_path / "runs" / "pendulum_spin"
    run = folder / "Pendulum-v1__spin_xclip_counterclockwise__2__1"
    run.mkdir(parents=True)
    (run / "args.json").write_text(json.dumps({"exp_name": "spin_xclip_counterclockwise", "seed": 2}))
    omega = np.r_[np.full(600, -9.0), np.full(100, -2.0), np.full(300, 4.0)].astype(np.float32)  # the last 250: 4.0
    np.save(run / "angular_velocity.npy", omega)
    row = plot.spin_row(run, late=0.4)  # the last 400: 100 at -2, 300 at +4
    assert (row["share_of_prompt_direction"], row["mean_angular_velocity"]) == (0.75, 2.5)
    row = plot.spin_row(run)
    assert (row["model"], row["prompt"], row["seed"], row["share_of_prompt_direction"], row["mean_angular_velocity"]) == \
        ("xclip", "counterclockwise", 2, 1.0, 4.0)
    fields = list(row)
    rows = [row, {**row, "seed": 3, "run": "Pendulum-v1__spin_xclip_counterclockwise__3__1"}]
    for share, errors in ((1.0, 1), (0.99, 2)):
        with open(folder / "spin.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fields)
            writer.writeheader()
            writer.writerows([{**rows[0], "share_of_prompt_direction": share}, rows[1]])
        checked, found = plot.check_spin_csv(tmp_path)
        assert (checked, len(found)) == (1, errors), found
        assert "__3__1" in found[-1] and "angular_velocity.npy is missing" in found[-1]
    assert "__2__1" in found[0] and "0.99" in found[0]


def test_humanoid_eval_csv_is_checked_against_its_states(tmp_path):
    """A committed evaluation passes; a pose share or a CLIP return changed in its eval.csv is found."""
    source = sorted((ROOT / "results" / "runs" / "humanoid_poses").glob("*__standing__1__*/eval_*"))[0]
    copy = tmp_path / "runs" / "humanoid_poses" / source.parent.name / source.name
    copy.mkdir(parents=True)
    shutil.copy(source / "states.npz", copy / "states.npz")
    rows = read(source / "eval.csv")
    for change, found in ((None, None), ("standing_share", "standing_share"), ("clip_return", "clip_return")):
        changed = [dict(r) for r in rows]
        if change:
            changed[7][change] = str(float(changed[7][change]) + 0.01)
        with open(copy / "eval.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, list(rows[0]))
            writer.writeheader()
            writer.writerows(changed)
        checked, errors = plot.check_humanoid_states(tmp_path)
        assert checked == 1 and len(errors) == (1 if change else 0), errors
        assert not change or (f"episode {rows[7]['episode']}: {found}" in errors[0])


def test_relabel_gives_an_evaluation_made_before_a_pose_its_columns_again(tmp_path):
    """A committed kneeling evaluation written as it was before the labeller knew lotus (four pose columns, and in
    episode 58 a cross-legged seat counted as kneeling): verify names the missing columns, relabel restores the
    committed eval.csv byte for byte."""
    source = sorted((ROOT / "results" / "runs" / "humanoid_poses").glob("*__kneeling__1__*/eval_*"))[0]
    copy = tmp_path / "runs" / "humanoid_poses" / source.parent.name / source.name
    copy.mkdir(parents=True)
    shutil.copy(source / "states.npz", copy / "states.npz")
    shutil.copy(source.parent / "args.json", copy.parent / "args.json")
    rows = read(source / "eval.csv")
    old = ["episode", "clip_return", "env_return", "success", "length", "kneeling_share", "standing_share",
           "arms_raised_share", "lying_share"]
    assert float(rows[58]["lotus_share"]) > 0
    rows[58].update(kneeling_share="0.25", success="1")
    with open(copy / "eval.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, old, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    checked, errors = plot.check_humanoid_states(tmp_path)
    assert checked == 0 and "no lotus_share, splits_share, hands_on_hips_share" in errors[0], errors
    run_plot("relabel", "--eval-dirs", copy)
    assert (copy / "eval.csv").read_bytes() == (source / "eval.csv").read_bytes()
    assert plot.check_humanoid_states(tmp_path) == (1, [])


def test_frames_one_png_per_look(tmp_path):
    """Every look but the paper's (its images cannot be downloaded here; test_envs.py draws it from stand-ins)."""
    looks = [name for name in plot.LOOKS if "paper_look" not in name]
    proc = run_plot("frames", "--out-dir", tmp_path, "--render-size", 64, "--steps", 2, "--looks", *looks)
    assert sorted(p.stem for p in tmp_path.glob("*.png")) == sorted(looks)
    assert "mountaincar_generated_look" in looks and f"wrote {len(looks)} PNGs" in proc.stdout


def test_policy_sheets_draw_a_policys_evaluated_episodes_labelled_by_pose(tmp_path, capsys):
    """A sheet per evaluation, its rows spread over the episodes (first and last included), titled with the
    labeller's poses; an evaluation without states.npz is refused by name."""
    source = sorted((ROOT / "results" / "runs" / "humanoid_poses").glob("*__kneeling_knee60_softmax__2__*/eval_*"))[-1]
    copy = tmp_path / source.parent.name / source.name
    copy.mkdir(parents=True)
    shutil.copy(source / "states.npz", copy / "states.npz")
    shutil.copy(source.parent / "args.json", copy.parent / "args.json")
    plot.PolicySheets(eval_dirs=(str(copy),), out_dir=str(tmp_path / "sheets"), episodes=3, steps=2, size=32).run()
    png = tmp_path / "sheets" / f"{source.parent.name}__{source.name}.png"
    assert png.exists() and f"wrote {png}: episodes 0, 50, 99 at steps 0, 99" in capsys.readouterr().out
    (copy / "states.npz").unlink()
    with pytest.raises(SystemExit, match=f"{copy} has no states.npz"):
        plot.PolicySheets(eval_dirs=(str(copy),), out_dir=str(tmp_path / "sheets")).run()
