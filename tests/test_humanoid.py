"""The humanoid's pose labels (the stand-in for the paper's human labeller), the small humanoid CLIP trained on the
project's frames (tests/humanoid_clip.py), and a humanoid run rewarded by it, end to end."""

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

import vlmrm_sac as vs

sys.path.insert(0, str(Path(__file__).resolve().parent))
import humanoid_clip  # noqa: E402

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


def both(**joints) -> dict:  # the same angles on both sides (their axes mirror)
    return {f"{side}_{name}": angle for side in ("right", "left") for name, angle in joints.items()}


def right(joints: dict) -> dict:  # the right side's part of a pose: the left limb stays at rest
    return {name: angle for name, angle in joints.items() if name.startswith("right")}


KNEEL = dict(right_knee=-1.6, left_knee=-1.6)  # thighs vertical, shins flat behind: at root 0.9 the knees touch
ARMS_UP = dict(right_shoulder1=1.0, right_shoulder2=1.0, left_shoulder1=-1.0, left_shoulder2=-1.0)
# Thighs turned out as far as they go (hip_z -1.05), knees folded: at root 0.674 the seat of the lotus pose that
# physics settles the body into (pelvis 0.25, knees 0.06 and 0.79 apart, feet together in front)
LOTUS = both(hip_x=-0.2, hip_z=-1.05, hip_y=-1.0, knee=-2.79)
SPLITS = both(hip_x=-0.44, hip_z=-1.05, hip_y=-1.2, knee=-0.03)  # straight legs out sideways: feet 1.5 apart
HANDS_ON_HIPS = dict(right_shoulder1=0.79, right_shoulder2=-1.1, right_elbow=-0.54,  # each hand 0.12 from its hip
                     left_shoulder1=-0.81, left_shoulder2=1.15, left_elbow=-0.52)
ARMS_CROSSED = dict(right_shoulder1=-0.89, right_shoulder2=1.05, right_elbow=-0.13,  # each hand on the other elbow
                    left_shoulder1=0.89, left_shoulder2=-1.05, left_elbow=-0.13)


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
    ("lotus", dict(root_z=0.674, **LOTUS), {"lotus"}),  # knees on the floor, yet seated: not kneeling
    ("seated on the heels, knees together", dict(root_z=0.674, **both(hip_y=-1.0, knee=-2.79)), {"kneeling"}),
    ("seated, legs straight ahead", dict(root_z=0.55, **both(hip_y=-1.57)), set()),
    ("lotus bent over", dict(root_z=0.674, tilt=1.0, **LOTUS), set()),
    ("side splits", dict(root_z=0.54, **SPLITS), {"splits"}),
    ("legs apart, standing", dict(root_z=1.33, **both(hip_x=-0.44)), {"standing"}),  # feet 0.9 apart
    ("hands on hips", HANDS_ON_HIPS, {"standing", "hands_on_hips"}),
    ("one hand on a hip", right(HANDS_ON_HIPS), {"standing"}),
    ("hands on hips, kneeling", dict(root_z=0.9, **KNEEL, **HANDS_ON_HIPS), {"kneeling"}),
    ("arms crossed", ARMS_CROSSED, {"standing", "arms_crossed"}),
    ("one arm across the chest", right(ARMS_CROSSED), {"standing"}),
    ("on one leg", dict(left_hip_y=-1.2, left_knee=-1.5), {"one_leg"}),  # the left foot 0.35 up
    ("a foot barely lifted", dict(left_hip_y=-0.5, left_knee=-0.6), {"standing"}),  # 0.13: a shuffle
    ("on one leg, bent over", dict(tilt=0.8, left_hip_y=-1.2, left_knee=-1.5), set()),
])
def test_pose_labels_of_hand_built_poses(poses, name, built, shown):
    labels = poses(pose(poses, **built))
    assert set(labels) == set(vs.POSES)
    assert {p for p, on in labels.items() if on} == shown, name


def test_pose_shares_of_an_episode_of_hand_built_poses(poses):
    """An episode's share of steps in each pose, from states whose pose is known: 3 kneeling, 1 standing of 4 steps."""
    episode = np.stack([pose(poses, root_z=0.9, **KNEEL)] * 3 + [pose(poses)])
    none = {f"{p}_share": 0.0 for p in vs.POSES}
    assert poses.shares(episode) == {**none, "kneeling_share": 0.75, "standing_share": 0.25}
    assert poses.shares(episode[::-1][:2]) == {**none, "kneeling_share": 0.5, "standing_share": 0.5}


@pytest.mark.parametrize("kneeling_steps, success", [(range(10), True), (range(5), True), (range(5, 10), True),
                                                     (range(4), False), (range(1, 10, 2), True), (range(0), False)])
def test_pose_success_says_true_for_an_episode_set_kneeling_in_half_its_steps(poses, kneeling_steps, success):
    """The humanoid is set, before each of 10 steps, to a hand-built kneeling or standing state (a step of the physics
    from either keeps its pose): PoseSuccess counts the kneeling steps and says success once they are at least half."""
    env = vs.make_env("Humanoid-v5", episode_length=10, look="stock", pose="kneeling")
    env.reset(seed=0)
    sim = env.unwrapped
    for t in range(10):
        sim.set_state(pose(poses, root_z=0.9, **KNEEL) if t in kneeling_steps else pose(poses), np.zeros(sim.model.nv))
        info = env.step(np.zeros(17))[4]
        kneeled = len([k for k in kneeling_steps if k <= t])
        assert info["pose_steps"] == kneeled and info["success"] is (2 * kneeled >= t + 1), (t, info)
    assert info["success"] is success


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
    assert vs.goal_pose(vs.Args(prompt=("a humanoid robot doing the splits",))) is None  # not the paper's prompt
    assert set(vs.POSE_OF_PROMPT.values()) == set(vs.POSES)


BUILT = {"kneeling": dict(root_z=0.9, **KNEEL), "standing": {}, "arms_raised": ARMS_UP, "lying": dict(root_z=0.1, tilt=np.pi / 2),
         "lotus": dict(root_z=0.674, **LOTUS), "splits": dict(root_z=0.54, **SPLITS), "hands_on_hips": HANDS_ON_HIPS,
         "arms_crossed": ARMS_CROSSED, "one_leg": dict(left_hip_y=-1.2, left_knee=-1.5)}


@pytest.mark.parametrize("prompt", list(vs.POSE_OF_PROMPT))
def test_pose_success_of_each_paper_prompt(poses, prompt):
    """Each of the paper's prompts (Table 1's eight, and lying) names its pose: an episode set, before each step, to a
    hand-built state of that pose succeeds; one set to the rest pose succeeds only for standing up."""
    goal = vs.goal_pose(vs.Args(prompt=(prompt,)))
    for built, success in ((BUILT[goal], True), ({}, goal == "standing")):
        env = vs.make_env("Humanoid-v5", episode_length=3, look="stock", pose=goal)
        env.reset(seed=0)
        sim = env.unwrapped
        for _ in range(3):
            sim.set_state(pose(poses, **built), np.zeros(sim.model.nv))
            info = env.step(np.zeros(17))[4]
        assert info["success"] is success, (goal, built, info)


@pytest.fixture(scope="module")
def poser():
    return humanoid_clip.Poser()


def test_the_class_of_a_state_is_its_most_specific_pose(poses):
    """A hand-built state of each pose is its own class under --table1's captions (hands on hips, not standing);
    under the default captions the poses they lack fall back to standing, or to other."""
    for name, built in BUILT.items():
        q = pose(poses, **built)
        assert humanoid_clip.pose_class(poses, q, humanoid_clip.TABLE1) == name
        fallback = "standing" if name in ("hands_on_hips", "arms_crossed") else "other"
        assert humanoid_clip.pose_class(poses, q) == (name if name in humanoid_clip.CAPTIONS else fallback)


# pose -> the poses that take the caption from it when a state shows both
MORE_SPECIFIC = {"standing": {"arms_raised", "hands_on_hips", "arms_crossed"}, "arms_raised": {"arms_crossed"},
                 "kneeling": {"splits"}, "lying": {"splits"}}


def test_table1_training_frames_are_captioned_with_the_paper_prompt_of_their_pose(poses, poser):
    """A small draw of --table1's training frames: each of the paper's prompts captions some, each caption is the
    prompt of a pose the labeller shows in its state (the most specific it shows), one-knee states get their
    sentence, and the baseline goes to states of no pose and to about a tenth of the others (--generic-share)."""
    args = humanoid_clip.Args(frames=400, table1=True)
    states, classes, captions = humanoid_clip.captioned_states(args, np.random.default_rng(0), poser, poses)
    assert set(vs.POSE_OF_PROMPT) <= set(captions)
    posed, generic = 0, 0
    for q, caption in zip(states, captions):
        shown = {p for p, on in poses(q).items() if on}
        posed += bool(shown)
        if caption in vs.POSE_OF_PROMPT:
            assert vs.POSE_OF_PROMPT[caption] in shown and not shown & MORE_SPECIFIC.get(vs.POSE_OF_PROMPT[caption], set())
        elif caption == humanoid_clip.ONE_KNEE:
            assert not shown
        else:
            assert caption == humanoid_clip.BASELINE
            generic += bool(shown)
    assert 0 < generic < 0.2 * posed


class FamilyOnly:
    """A stand-in for humanoid_clip.Poser whose states hold only the index of the family they were built for."""
    def build(self, family, rng, one_knee):
        return np.full(24, list(humanoid_clip.FAMILIES).index(family), float)

    def rollouts(self, n, rng):
        return np.full((n, 24), -1.0)


def test_the_default_training_frames_are_those_the_committed_models_were_trained_on(poses, poser):
    """The default recipe (seed 0's training stream) as tests/humanoid_clip.py drew it for
    results/mini_clip/humanoid_small_one_knee and _visited: the families of all 24,000 frames, and the first 40
    frames' classes, captions and settled states."""
    stream = lambda: np.random.default_rng(np.random.SeedSequence(0).spawn(2)[0])  # noqa: E731
    families = humanoid_clip.sample_states(24_000, stream(), FamilyOnly(), 0.4)[:, 0]
    assert Counter(families.tolist()) == {-1: 6000, 0: 7194, 1: 1812, 2: 1842, 3: 1847, 4: 1389, 5: 3916}  # FAMILIES' order
    states, classes, captions = humanoid_clip.captioned_states(humanoid_clip.Args(frames=40), stream(), poser, poses)
    assert classes[:16] == ["other", "standing", "kneeling", "lying", "one_knee", "standing", "lying", "one_knee", "other",
                            "standing", "standing", "other", "one_knee", "kneeling", "one_knee", "kneeling"]
    assert Counter(captions) == {"a humanoid robot": 17, "a humanoid robot lying down": 9, "a humanoid robot standing up": 6,
                                 "a humanoid robot on one knee": 4, "a humanoid robot kneeling": 3,
                                 "a humanoid robot standing up, with both arms raised": 1}
    np.testing.assert_allclose(states[:6, 2], [1.0198331, 1.24057672, 0.89241433, 0.36485657, 0.8006675, 1.29370938], atol=1e-6)
    np.testing.assert_allclose(states[:6].sum(1), [-2.3946804, 0.39446934, -3.27097048, -7.06987251, -4.36092754, 0.18461673],
                               atol=1e-5)


def sim_dt() -> float:
    """Seconds between two steps of Humanoid-v5 (its frame skip times MuJoCo's timestep)."""
    env = vs.make_env("Humanoid-v5", look="stock")
    return env.unwrapped.dt


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
    CLIP, gradient steps, success logged; then the evaluation's states.npz against what the env showed: each saved
    qpos drawn again gives the episode's saved frame, each CLIP reward is a fresh model's for that frame, qvel is the
    rate at which qpos moves, and eval.csv's pose shares are those of the saved states."""
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
    states = np.load(out / "states.npz")  # all episodes' states, the record committed with the results
    assert states["qpos"].shape == (2, 100, 24) and states["qvel"].shape == (2, 100, 23) and states["clip_rewards"].shape == (2, 100)
    reward = vs.CLIPReward(str(HUMANOID_CLIP), [KNEELING], ["a humanoid robot"])  # a model of its own, as a user loads it
    labeller = vs.HumanoidPoses()
    for row in rows:
        e = int(row["episode"])
        frames = np.load(vs.eval_episode_file(out, e))["frames"]
        # each step's saved qpos is the state its frame shows: drawn again here, it gives the evaluation's frame
        steps = [0, 1, 50, 99]
        drawn = render_warp(states["qpos"][e][steps].astype(np.float64))
        assert (drawn != frames[steps]).any(-1).mean() < 0.01  # float32 qpos: an edge pixel may flip
        # its CLIP reward is the model's for that frame, and eval.csv's return their sum
        np.testing.assert_allclose(states["clip_rewards"][e], reward(frames).numpy(), atol=1e-5)
        assert float(row["clip_return"]) == pytest.approx(float(reward(frames).sum()), abs=1e-3)
        # qvel is the velocity of the same states: qpos moves by it, frame to frame (5 MuJoCo steps of 3 ms)
        qpos, qvel = states["qpos"][e].astype(np.float64), states["qvel"][e].astype(np.float64)
        moved = (qpos[1:, 7:] - qpos[:-1, 7:]) / sim_dt(), qvel[1:, 6:]  # the hinges
        assert np.corrcoef(moved[0].ravel(), moved[1].ravel())[0, 1] > 0.9
        for p, share in labeller.shares(qpos).items():  # eval.csv's shares are those of the states the frames show
            assert float(row[p]) == share
    assert json.loads((run / "args.json").read_text())["renderer"] == "warp"


def test_a_humanoid_run_with_the_softmax_rule_and_a_128_pixel_model_trains_end_to_end(tmp_path):
    """The yardstick's other axes in a run: frames drawn at 128 px for a model that sees 128 px, rewarded by the
    goal's softmax probability against the near miss and the baseline (every reward in [0, 1])."""
    model = HUMANOID_CLIP.parent / "humanoid_small_visited_128"
    flags = ["--env-id", "Humanoid-v5", "--renderer", "warp", "--look", "generated", "--render-size", 128,
             "--clip-model", model, "--prompt", KNEELING, "--baseline-prompt", "a humanoid robot on one knee",
             "--baseline-prompt", "a humanoid robot", "--reward-rule", "softmax", "--num-envs", 4, "--num-workers", 1,
             "--total-timesteps", 400, "--learning-starts", 200, "--train-frequency", 50, "--gradient-steps", 5,
             "--batch-size", 32, "--log-interval", 200, "--video-interval", 0, "--checkpoint-interval", 0,
             "--run-dir", tmp_path, "--device", "cpu"]
    subprocess.run([sys.executable, str(ROOT / "vlmrm_sac.py"), *map(str, flags)], check=True, timeout=600, capture_output=True)
    run = next(tmp_path.iterdir())
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    episodes = [r for r in rows if r["kind"] == "episode"]
    assert len(episodes) == 4 and all(0 < float(r["clip_return"]) < 100 for r in episodes)  # 100 rewards in [0, 1]
    assert any(r["qf_loss"] for r in rows if r["kind"] == "train")
    args = json.loads((run / "args.json").read_text())
    assert args["reward_rule"] == "softmax" and args["render_size"] == 128
