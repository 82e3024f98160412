"""Why a humanoid prompt does or does not learn: over the states a trained policy visits (an evaluation's
states.npz, as committed in results/runs/humanoid_poses/), the CLIP reward by what the state shows, and a strip of
the frames the reward likes most, redrawn by MuJoCo Warp (128x128, or --size).

    .venv/bin/python tests/humanoid_reward_check.py results/runs/humanoid_poses/Humanoid-v5__kneeling__1__*/eval_* \
        --out results/frames/humanoid_kneeling_policy.png

Classes: humanoid_clip.pose_class's, the HumanoidPoses poses and "one_knee" (exactly one knee on the floor, the torso
as high and upright as kneeling asks): the near miss the paper's labeller rejects ("both knees touching the floor").
--clip-model scores the same states again with another model (the evaluation's prompt, baseline and alpha), so a new
reward model can be tried on the states an old policy visits before a run is spent on it."""

import glob
import sys
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np
import tyro

import humanoid_clip
import vlmrm_sac as vs


def rescore(clip_model: str, run_dir: Path, qpos) -> np.ndarray:
    """The CLIP reward of each state under `clip_model`, with the run's prompt, baseline and alpha (its args.json)."""
    import json
    import torch

    run = json.loads((run_dir / "args.json").read_text())
    reward = vs.CLIPReward(clip_model, run["prompt"], run["baseline_prompt"], alpha=run["alpha"])
    with torch.no_grad():
        return np.concatenate([reward(torch.from_numpy(f)).numpy() for f in humanoid_clip.render(qpos)])


def main(eval_dir: tyro.conf.Positional[str], out: Optional[str] = None, top: int = 10, clip_model: Optional[str] = None,
         size: int = 128):
    """eval_dir: an evaluation folder (glob; the last match, a run's last evaluation) with states.npz; out: the PNG of the `top` best-rewarded steps, drawn at
    `size` pixels (64: as the runs' reward sees them); clip_model: score the states with this model instead of the
    rewards the evaluation recorded."""
    found = sorted(glob.glob(eval_dir))
    if not found:
        raise SystemExit(f"error: no evaluation folder matches {eval_dir}")
    folder = found[-1]  # a run's last evaluation, the one plot.py's tables and Fig. 5 report
    data = np.load(Path(folder) / "states.npz")
    qpos, rewards = data["qpos"].reshape(-1, data["qpos"].shape[-1]), data["clip_rewards"].reshape(-1)
    if clip_model:
        rewards = rescore(clip_model, Path(folder).parent, qpos.astype(np.float64))
        print(f"rewards of {clip_model}")
    poses = vs.HumanoidPoses()
    classes = np.array([humanoid_clip.pose_class(poses, q) for q in qpos])
    print(f"{folder}: {len(qpos)} steps, mean CLIP reward {rewards.mean():.3f}")
    print("| what the state shows | share of steps | mean CLIP reward | share of the steps rewarded above 0.3 |")
    print("|---|---|---|---|")
    high = rewards > 0.3
    for c in ("kneeling", "one_knee", "standing", "arms_raised", "lying", "other"):
        m = classes == c
        if m.any():
            print(f"| {c} | {m.mean():.1%} | {rewards[m].mean():.3f} | {(m & high).sum() / max(high.sum(), 1):.1%} |")
    if out:
        import matplotlib.pyplot as plt

        best = np.argsort(-rewards)[::max(1, len(rewards) // 200)][:top]  # spread over the top, not one episode's run
        frames = next(humanoid_clip.render(qpos[best].astype(np.float64), chunk=len(best), size=size))
        fig, axes = plt.subplots(1, len(best), figsize=(1.3 * len(best), 1.7))
        for ax, frame, k in zip(axes, frames, best):
            ax.imshow(frame)
            ax.set_axis_off()
            ax.set_title(f"{rewards[k]:.2f}\n{classes[k]}", fontsize=7)
        fig.suptitle(f"{folder}: steps the CLIP reward rates highest, with their state class", fontsize=7)
        fig.savefig(out, dpi=100, bbox_inches="tight")
        print(f"wrote {out}")


if __name__ == "__main__":
    tyro.cli(main, use_underscores=False)
