"""The spin experiment of --reward-frames: SAC on Pendulum-v1 trained only on the reward of "a pendulum spinning
clockwise" or "... counterclockwise", by the small X-CLIP of tests/mini_xclip.py (windows of its K frames) and, the
control, by the single-frame CLIP trained on the same captions (K = 1). Models of a toy world, trained on this
project's own clips: they show that the window reaches the reward and SAC, not what a pretrained video model does.

    .venv/bin/python tests/mini_xclip.py --threads 1        # the two models, first
    .venv/bin/python tests/spin_experiment.py               # 2 models x 2 prompts x 3 seeds, 2 runs at a time
    .venv/bin/python plot.py spin                           # the figure

Each run's late behaviour is read from its replay buffer (--save-buffer): over the last --late share of its
transitions, the share of steps turning the prompt's way (clockwise on the screen: angular velocity < 0) and the
mean angular velocity. Each run's args.json, metrics.csv and the angular velocity of every transition in the order
added (angular_velocity.npy, 60 KB; the buffer itself is 8 MB) are copied to results/runs/pendulum_spin/<run>/, and
one row per run, computed from that file by plot.spin_row, goes to results/runs/pendulum_spin/spin.csv (which
`plot.py verify` recomputes). A run whose records are already there is not run again, so an experiment stopped
part-way goes on where it stopped. The runs' full folders stay in --run-dir.

Status: run again with its records at 542a923 (CPU, 2 runs at a time, 15k steps each, seeds 1-3; the models of
tests/mini_xclip.py with its angle warm-up, held-out direction accuracy 100% for the X-CLIP and 47% for the CLIP):
the X-CLIP-rewarded runs turn the prompt's way on 93-95% of late steps (mean angular velocity -5.6 to -5.8 rad/s for
clockwise, +5.3 to +6.0 for counterclockwise), the CLIP-rewarded ones on 47-55% (|mean| <= 0.47 rad/s). Numbers per
seed in results/README.md.
"""

import csv
import itertools
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import tyro

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import plot  # noqa: E402  (spin_row: the same computation as verify's)

PROMPTS = {"clockwise": "a pendulum spinning clockwise", "counterclockwise": "a pendulum spinning counterclockwise"}
MODELS = {"xclip": ("pendulum_xclip_tiny", 4), "clip": ("pendulum_clip_tiny", 1)}  # name -> (model, --reward-frames)


@dataclass
class Args:
    seeds: tuple[int, ...] = (1, 2, 3)
    total_timesteps: int = 15_000
    late: float = plot.SPIN_LATE
    """share of the last transitions that measure a run"""
    parallel: int = 2
    """runs at a time (each with one thread)"""
    run_dir: str = "runs/pendulum_spin"
    out: str = str(ROOT / "results" / "runs" / "pendulum_spin" / "spin.csv")


def command(args: Args, model: str, prompt: str, seed: int) -> list:
    path, frames = MODELS[model]
    return [sys.executable, str(ROOT / "vlmrm_sac.py"), "--env-id", "Pendulum-v1",
            "--clip-model", str(ROOT / "results" / "mini_clip" / path), "--reward-frames", str(frames),
            "--prompt", PROMPTS[prompt], "--num-envs", "4", "--total-timesteps", str(args.total_timesteps),
            "--learning-starts", "2000", "--train-frequency", "25", "--gradient-steps", "100", "--batch-size", "256",
            "--gamma", "0.99", "--policy-lr", "3e-4", "--q-lr", "1e-3", "--hidden-size", "64",
            "--buffer-size", "100000", "--video-interval", "0", "--checkpoint-interval", "1000000", "--save-buffer",
            "--num-workers", "0", "--seed", str(seed), "--exp-name", f"spin_{model}_{prompt}",
            "--run-dir", args.run_dir]


def keep_records(run_dir: Path, dest: Path):
    """The run's args.json, metrics.csv and its transitions' angular velocities (from the buffer), into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("args.json", "metrics.csv"):
        shutil.copy(run_dir / name, dest / name)
    buffer = torch.load(run_dir / "checkpoints" / "latest.pt", weights_only=True)["buffer"]
    np.save(dest / "angular_velocity.npy", buffer["data"]["next_obs"][:, 2].numpy())  # the order added: it never wrapped


def run(args: Args, model: str, prompt: str, seed: int) -> dict:
    kept = sorted(Path(args.out).parent.glob(f"Pendulum-v1__spin_{model}_{prompt}__{seed}__*/angular_velocity.npy"))
    if kept:  # this run's records are already there (an experiment stopped part-way): not run again
        print(f"kept: {kept[-1].parent.name}", flush=True)
        return plot.spin_row(kept[-1].parent, args.late)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "SDL_VIDEODRIVER": "dummy"}
    proc = subprocess.run(command(args, model, prompt, seed), capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"error: {model} {prompt} seed {seed}: {proc.stderr.strip().splitlines()[-1]}")
    run_dir = Path(proc.stdout.strip().splitlines()[-1].split("metrics in ")[1]).parent
    dest = Path(args.out).parent / run_dir.name
    keep_records(run_dir, dest)
    row = plot.spin_row(dest, args.late)
    print(row, flush=True)
    return row


def main(args: Args):
    jobs = list(itertools.product(MODELS, PROMPTS, args.seeds))
    with ThreadPoolExecutor(args.parallel) as pool:
        rows = list(pool.map(lambda job: run(args, *job), jobs))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print("| model | prompt | share of late steps turning the prompt's way (per seed) | mean angular velocity, rad/s (per seed) |")
    print("|---|---|---|---|")
    for model, prompt in itertools.product(MODELS, PROMPTS):
        mine = [r for r in rows if r["model"] == model and r["prompt"] == prompt]
        print(f"| {model} | {prompt} | " + " / ".join(f"{r['share_of_prompt_direction']:.0%}" for r in mine) +
              f" (mean {np.mean([r['share_of_prompt_direction'] for r in mine]):.0%}) | " +
              " / ".join(f"{r['mean_angular_velocity']:+.2f}" for r in mine) + " |")


if __name__ == "__main__":
    main(tyro.cli(Args))
