"""Why a humanoid prompt does or does not learn: over the states a trained policy visits (an evaluation's
states.npz, as committed in results/runs/humanoid_poses/), the CLIP reward by what the state shows, and a strip of
the frames the reward likes most, redrawn at 128x128 by MuJoCo Warp.

    .venv/bin/python tests/humanoid_reward_check.py results/runs/humanoid_poses/Humanoid-v5__kneeling__1__*/eval_* \
        --out results/frames/humanoid_kneeling_policy.png

Classes: the HumanoidPoses poses, and "one knee down" (exactly one knee on the floor, the torso as high and upright
as kneeling asks): the near miss the paper's labeller rejects ("both knees touching the floor")."""

import glob
import sys
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np
import tyro

import vlmrm_sac as vs


def state_class(poses: vs.HumanoidPoses, qpos) -> str:
    shown = poses(qpos)
    if any(shown.values()):
        return next(p for p in ("kneeling", "arms_raised", "standing", "lying") if shown[p])
    d = poses.data  # poses() has just run the kinematics of qpos
    knees = sorted(d.body(b).xpos[2] for b in ("right_shin", "left_shin"))
    if knees[0] < vs.KNEE_ON_FLOOR <= knees[1] and d.body("torso").xpos[2] > vs.KNEEL_TORSO and d.body("torso").xmat[8] > vs.UPRIGHT:
        return "one knee down"
    return "other"


def main(eval_dir: tyro.conf.Positional[str], out: Optional[str] = None, top: int = 10):
    """eval_dir: an evaluation folder (glob) with states.npz; out: the PNG of the `top` best-rewarded steps."""
    folder = sorted(glob.glob(eval_dir))[0]
    data = np.load(Path(folder) / "states.npz")
    qpos, rewards = data["qpos"].reshape(-1, data["qpos"].shape[-1]), data["clip_rewards"].reshape(-1)
    poses = vs.HumanoidPoses()
    classes = np.array([state_class(poses, q) for q in qpos])
    print(f"{folder}: {len(qpos)} steps, mean CLIP reward {rewards.mean():.3f}")
    print("| what the state shows | share of steps | mean CLIP reward | share of the steps rewarded above 0.3 |")
    print("|---|---|---|---|")
    high = rewards > 0.3
    for c in ("kneeling", "one knee down", "standing", "arms_raised", "lying", "other"):
        m = classes == c
        if m.any():
            print(f"| {c} | {m.mean():.1%} | {rewards[m].mean():.3f} | {(m & high).sum() / max(high.sum(), 1):.1%} |")
    if out:
        import matplotlib.pyplot as plt
        import humanoid_clip

        best = np.argsort(-rewards)[::max(1, len(rewards) // 200)][:top]  # spread over the top, not one episode's run
        frames = next(humanoid_clip.render(qpos[best].astype(np.float64), chunk=len(best), size=128))
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
