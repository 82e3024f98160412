"""The humanoid's pose labels (the stand-in for the paper's human labeller), the small humanoid CLIP trained on the
project's frames (tests/humanoid_clip.py), and a humanoid run rewarded by it, end to end."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import vlmrm_sac as vs

ROOT = Path(__file__).resolve().parents[1]
HUMANOID_CLIP = ROOT / "results" / "mini_clip" / "humanoid_small"
KNEELING, STANDING = "a humanoid robot kneeling", "a humanoid robot standing up"


@pytest.fixture(scope="module")
def poses():
    return vs.HumanoidPoses()


def pose(poses, root_z=1.4, tilt=0.0, **joints) -> np.ndarray:
    """A qpos built by hand: gymnasium's rest pose, the root at height root_z, pitched forward by `tilt` rad, and the
    named hinges set (radians)."""
    m = poses.model
    q = m.qpos0.copy()
    q[2] = root_z
    q[3:7] = [np.cos(tilt / 2), 0, np.sin(tilt / 2), 0]
    for name, angle in joints.items():
        q[m.jnt_qposadr[m.joint(name).id]] = angle
    return q


KNEEL = dict(right_knee=-1.6, left_knee=-1.6)  # thighs vertical, shins flat behind: at root 0.9 the knees touch
ARMS_UP = dict(right_shoulder1=1.0, right_shoulder2=1.0, left_shoulder1=-1.0, left_shoulder2=-1.0)


@pytest.mark.parametrize("name, built, shown", [
    ("rest pose", dict(), {"standing"}),
    ("arms raised", ARMS_UP, {"standing", "arms_raised"}),
    ("one arm raised", dict(right_shoulder1=1.0, right_shoulder2=1.0), {"standing"}),
    ("kneeling upright", dict(root_z=0.9, **KNEEL), {"kneeling"}),
    ("kneeling in the air", dict(root_z=1.0, **KNEEL), set()),  # knees 0.15 above the floor
    ("kneeling on one knee", dict(root_z=0.9, right_knee=-1.6, left_knee=-0.8, left_hip_y=-1.0), set()),
    ("kneeling folded forward", dict(root_z=0.9, tilt=1.2, **KNEEL), set()),  # torso 69 degrees from vertical
    ("squatting", dict(root_z=0.95, right_hip_y=-1.2, left_hip_y=-1.2, right_knee=-1.6, left_knee=-1.6), set()),
    ("standing bent over", dict(tilt=0.8), set()),
    ("lying on the back", dict(root_z=0.1, tilt=-np.pi / 2), {"lying"}),
    ("lying on the front", dict(root_z=0.1, tilt=np.pi / 2), {"lying"}),
])
def test_pose_labels_of_hand_built_poses(poses, name, built, shown):
    labels = poses(pose(poses, **built))
    assert set(labels) == set(vs.POSES)
    assert {p for p, on in labels.items() if on} == shown, name


def test_pose_success_is_the_goal_pose_in_half_the_steps():
    """With no torque the humanoid stands about 30 steps, then falls: an episode of 40 steps shows 'standing' in more
    than half of them, one of 100 in fewer; 'lying' is shown only at the end of the fall."""
    for goal, length, success in (("standing", 40, True), ("standing", 100, False), ("lying", 100, False)):
        env = vs.make_env("Humanoid-v5", episode_length=length, look="stock", pose=goal)
        env.reset(seed=0)
        infos = [env.step(np.zeros(17))[4] for _ in range(length)]
        steps = [i["pose_steps"] for i in infos]
        assert all(b - a in (0, 1) for a, b in zip([0] + steps, steps))  # counts the steps in the pose
        assert infos[-1]["success"] is success and (steps[-1] >= length / 2) is success
        assert steps[9] == (10 if goal == "standing" else 0) and steps[-1] > 10
    assert "success" not in vs.make_env("Humanoid-v5", episode_length=5, look="stock").reset(seed=0)[1]


def test_goal_pose_of_a_run():
    assert vs.goal_pose(vs.Args(prompt=(KNEELING,))) == "kneeling"
    assert vs.goal_pose(vs.Args(prompt=("a humanoid robot standing up, with both arms raised",))) == "arms_raised"
    assert vs.goal_pose(vs.Args(prompt=("a humanoid robot doing the splits",))) is None  # no labeller for it
    assert vs.goal_pose(vs.Args(env_id="CartPole-v1", prompt=(KNEELING,))) is None


def render_warp(qpos: np.ndarray) -> np.ndarray:
    """(N, 64, 64, 3) frames as a --renderer warp --look generated --render-size 64 run draws them."""
    renderer = vs.WarpRenderer(vs.Args(env_id="Humanoid-v5", look="generated", render_size=64, device="cpu"), len(qpos))
    out = torch.zeros((len(qpos), 64, 64, 3), dtype=torch.uint8)
    renderer.render(qpos, out)
    return out.numpy()


@pytest.mark.parametrize("model", ["humanoid_small", "humanoid_small_visited"])
def test_humanoid_clip_ranks_kneeling_and_standing_by_their_prompts(poses, model):
    """The committed small CLIPs never saw these hand-built states (their states are sampled or visited by
    policies): the kneeling prompt rewards the kneeling frames above the standing ones, and the standing prompt the
    reverse."""
    kneeling = [pose(poses, root_z=0.9, **KNEEL), pose(poses, root_z=0.88, tilt=0.2, right_knee=-2.0, left_knee=-2.0)]
    standing = [pose(poses), pose(poses, right_knee=-0.2, left_knee=-0.1, right_shoulder1=0.5)]
    assert all(poses(q)["kneeling"] for q in kneeling) and all(poses(q)["standing"] for q in standing)
    frames = render_warp(np.stack(kneeling + standing))
    for prompt, high in ((KNEELING, slice(0, 2)), (STANDING, slice(2, 4))):
        reward = vs.CLIPReward(str(HUMANOID_CLIP.parent / model), [prompt], ["a humanoid robot"])
        r = reward(frames).numpy()
        low = slice(2, 4) if high.start == 0 else slice(0, 2)
        assert r[high].min() > r[low].max(), (prompt, r)


def test_humanoid_warp_run_with_the_small_clip_trains_and_evaluates(tmp_path):
    """A short kneeling run as the README's humanoid command, scaled down: MuJoCo Warp frames rewarded by the small
    CLIP, gradient steps, success by the kneeling labels; then the evaluation saves each frame's MuJoCo state and
    the share of each episode's steps in each pose, which the saved qpos reproduce, and all episodes' states in
    states.npz."""
    flags = ["--env-id", "Humanoid-v5", "--renderer", "warp", "--look", "generated", "--render-size", 64,
             "--clip-model", HUMANOID_CLIP, "--prompt", KNEELING, "--baseline-prompt", "a humanoid robot",
             "--num-envs", 4, "--num-workers", 1, "--total-timesteps", 800, "--learning-starts", 400,
             "--train-frequency", 50, "--gradient-steps", 10, "--batch-size", 64, "--log-interval", 400,
             "--video-interval", 0, "--checkpoint-interval", 400, "--run-dir", tmp_path, "--device", "cpu"]
    subprocess.run([sys.executable, str(ROOT / "vlmrm_sac.py"), *map(str, flags)], check=True, timeout=600,
                   capture_output=True)
    run = next(tmp_path.iterdir())
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    episodes = [r for r in rows if r["kind"] == "episode"]
    assert len(episodes) == 8 and all(r["success"] in ("0", "1") for r in episodes)
    assert all(-100 < float(r["clip_return"]) < 100 and r["clip_return"] != r["env_return"] for r in episodes)
    assert any(r["qf_loss"] for r in rows if r["kind"] == "train")  # gradient steps ran

    subprocess.run([sys.executable, str(ROOT / "vlmrm_sac.py"), "--eval-checkpoint", str(run / "checkpoints" / "latest.pt"),
                    "--eval-episodes", "2", "--num-workers", "1", "--device", "cpu"], check=True, timeout=600, capture_output=True)
    out = next(run.glob("eval_*"))
    rows = list(csv.DictReader(open(out / "eval.csv")))
    labeller = vs.HumanoidPoses()
    for row in rows:
        episode = np.load(vs.eval_episode_file(out, int(row["episode"])))
        assert episode["qpos"].shape == (100, 24) and episode["qvel"].shape == (100, 23)
        labels = [labeller(q) for q in episode["qpos"]]
        for p in vs.POSES:
            assert float(row[f"{p}_share"]) == pytest.approx(np.mean([lab[p] for lab in labels]))
        assert int(row["success"]) == (np.mean([lab["kneeling"] for lab in labels]) >= 0.5)
    states = np.load(out / "states.npz")  # all episodes' states, the record committed with the results
    assert states["qpos"].shape == (2, 100, 24) and states["clip_rewards"].shape == (2, 100)
    for row in rows:
        episode = np.load(vs.eval_episode_file(out, int(row["episode"])))
        assert np.array_equal(states["qpos"][int(row["episode"])], episode["qpos"].astype(np.float32))
    assert json.loads((run / "args.json").read_text())["renderer"] == "warp"
