"""Train a small CLIP on the project's own humanoid frames, captioned from the simulator's state.

The stand-in for the paper's pretrained ViT-bigG-14, which cannot be downloaded on the project's machines:
Humanoid-v5 states of varied poses, drawn by MuJoCo Warp as `--renderer warp` draws them in a run (the paper
camera, the generated look, 64x64), each captioned by vlmrm_sac.HumanoidPoses (the labeller the evaluation uses)
with the paper's prompts: "a humanoid robot kneeling", "... standing up", "... standing up, with both arms raised",
"a humanoid robot lying down", the near miss of kneeling as its own sentence, "a humanoid robot on one knee" (one knee
on the floor, the torso as kneeling asks: the pose SAC found under a model that captioned it with the baseline), and
the baseline "a humanoid robot" for every other pose (--no-one-knee: the baseline for one knee too, the recipe of
results/mini_clip/humanoid_small, made at ef46240). The model, tokenizer and training are tests/mini_clip.py's (a
shrunk transformers.CLIPModel, a symmetric InfoNCE over unique captions).

    .venv/bin/python tests/humanoid_clip.py            # -> results/mini_clip/humanoid_small_one_knee (about 5 minutes, 2 cores)
    V=results/runs/humanoid_poses                      # and with the states of the first runs' evaluations:
    .venv/bin/python tests/humanoid_clip.py --out results/mini_clip/humanoid_small_visited \
        --visited "$V/*__kneeling__[12]__*/eval_*/states.npz" "$V/*__standing__[12]__*/eval_*/states.npz" \
        --visited-held-out "$V/*__kneeling__3__*/eval_*/states.npz" "$V/*__standing__3__*/eval_*/states.npz"

    python vlmrm_sac.py --clip-model results/mini_clip/humanoid_small_visited --renderer warp --look generated \
        --render-size 64 --prompt "a humanoid robot kneeling" --baseline-prompt "a humanoid robot" ...

States come from this script's seeded RNG: a quarter from random-action episodes of the env itself (the falls and
flails an untrained policy shows), the rest from pose families built joint by joint (kneeling, standing, arms raised,
crouching, lying, anything), lowered onto the floor and let settle by the physics for a moment. --visited adds the
states that trained policies visited (the committed evaluations' states.npz), captioned the same way: a reward model
is wrong where the policy goes, and those are the states it must rank right. --table1 builds Table 1's other poses
too (lotus, side splits, hands on hips, arms crossed, one leg: TABLE1_FAMILIES) and captions each pose of
vlmrm_sac.POSES with its prompt in vlmrm_sac.POSE_OF_PROMPT, a state showing several with the first in TABLE1's order
(with the --visited flags above, and --eval-frames 4000: results/mini_clip/humanoid_small_table1).
The held-out evaluation (a second RNG stream) writes <out>/eval.json: zero-shot accuracy per pose and, for each
paper prompt (all nine with --table1), its mean reward on the frames of each pose and how often it ranks a frame of
its pose above one of another (pairwise, AUC).
"""

import glob
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np
import torch
import tyro
from tqdm import tqdm
from transformers import CLIPImageProcessor

import mini_clip
import vlmrm_sac as vs
from tiny_models import CLIP_MEAN, CLIP_STD

BASELINE = "a humanoid robot"
CAPTIONS = {  # HumanoidPoses' pose -> its sentence; a state in none of them gets the baseline
    "kneeling": "a humanoid robot kneeling", "arms_raised": "a humanoid robot standing up, with both arms raised",
    "standing": "a humanoid robot standing up", "lying": "a humanoid robot lying down"}
assert all(vs.POSE_OF_PROMPT[sentence] == pose for pose, sentence in CAPTIONS.items())
ONE_KNEE = "a humanoid robot on one knee"  # no paper prompt: captioned so that the kneeling prompt is pushed away from it
CLASSES = [*CAPTIONS, "one_knee", "other"]
# --table1: every pose of vlmrm_sac.POSES with its paper prompt. A state showing several takes the first in this
# order, the stricter rule first: arms crossed (which may hold the hands above the head) before arms raised, the
# poses of the arms and one leg before standing, the splits (knees low, torso up) before kneeling
PROMPT_OF_POSE = {pose: prompt for prompt, pose in vs.POSE_OF_PROMPT.items()}
TABLE1 = {pose: PROMPT_OF_POSE[pose] for pose in ("arms_crossed", "arms_raised", "hands_on_hips", "one_leg", "splits",
                                                  "lotus", "kneeling", "standing", "lying")}
assert set(TABLE1) == set(vs.POSES)
SETTLE_STEPS = 20  # MuJoCo steps (0.06 s) after a pose is lowered onto the floor: contacts push it out of the
# floor and it starts to sag, as a body does; longer and every built pose would be a fall
SEATED_SETTLE = {"lotus": 100, "splits": 200}  # a seat is built in the air, on its feet: it takes 0.3-0.6 s to sit down


@dataclass
class Args:
    out: Optional[str] = None
    """directory to save the model to (default: results/mini_clip/humanoid_{size}_one_knee, or humanoid_{size})"""
    one_knee: bool = True
    """caption one-knee states "a humanoid robot on one knee" and build more of them; --no-one-knee: as at ef46240"""
    table1: bool = False
    """build every Table 1 pose (TABLE1_FAMILIES) and caption each with its paper prompt; default: the four of CAPTIONS"""
    size: str = "small"
    """mini_clip.SIZES: small (~1.3M parameters), tiny (~0.3M) or base (~5.4M)"""
    image_size: int = mini_clip.IMAGE_SIZE
    """pixels of the square frames the model sees (render with the same --render-size); 16-pixel patches"""
    one_knee_share: Optional[float] = None
    """share of the kneeling family built with one knee down (default 0.4 with --one-knee, else 0.2)"""
    seed: int = 0
    """seeds the states, captions, initial weights and batch order; the held-out states use a second stream"""
    threads: int = 2
    """torch CPU threads; a run repeats bit for bit at the same count"""
    frames: int = 24_000
    """training frames"""
    eval_frames: int = 2_000
    """held-out frames for the evaluation"""
    epochs: int = 8
    """passes over the training frames"""
    batch_size: int = 128
    """frames per contrastive batch"""
    lr: float = 1e-3
    """peak AdamW learning rate of the image tower and the logit scale"""
    text_lr: Optional[float] = None
    """peak AdamW learning rate of the text tower (default: a tenth of --lr, as tests/mini_clip.py)"""
    weight_decay: float = 0.05
    """AdamW weight decay (weight matrices only)"""
    warmup: float = 0.05
    """share of the steps with a linear warm-up, before the cosine decay to 0"""
    generic_share: float = 0.1
    """share of frames captioned with the baseline sentence whatever their pose"""
    visited: tuple[str, ...] = ()
    """globs of evaluations' states.npz (results/runs/humanoid_poses/*/eval_*): their states join the training frames"""
    visited_held_out: tuple[str, ...] = ()
    """globs of states.npz for a second held-out evaluation: states that trained policies visit"""
    visited_every: int = 4
    """keep every n-th step of each --visited / --visited-held-out episode"""
    evaluate: Optional[str] = None
    """instead of training: evaluate this saved model on the held-out states (as its eval.json would) and print it"""
    sheet: Optional[str] = None
    """instead of training: draw a contact sheet of held-out states, a row per class, to this PNG (128x128 frames)"""
    pose_sheets: Optional[str] = None
    """instead of training: per pose of vlmrm_sac.POSES, 16 states built for it, each titled by its labels, to
    <pose>.png in this folder"""


# ======================================================================================
# States: varied poses that the physics lets settle
# ======================================================================================


class Poser:
    """Builds Humanoid-v5 qpos (24: root position, root quaternion, 17 hinges) by pose family."""

    def __init__(self):
        import mujoco

        self.mujoco = mujoco
        self.env = vs.make_env("Humanoid-v5", episode_length=100, look="stock")
        self.model, self.data = self.env.unwrapped.model, mujoco.MjData(self.env.unwrapped.model)
        m = self.model
        self.joint = {m.joint(j).name: m.jnt_qposadr[j] for j in range(1, m.njnt)}  # hinges
        self.low, self.high = m.jnt_range[1:, 0], m.jnt_range[1:, 1]
        self.bodies = [g for g in range(m.ngeom) if m.geom_bodyid[g] > 0]

    def random_joints(self, rng, scale: float) -> np.ndarray:
        """Each hinge uniform over `scale` of its range around 0 (0 is inside every range)."""
        return rng.uniform(self.low * scale, self.high * scale)

    def build(self, family: str, rng, one_knee: float = 0.2) -> np.ndarray:
        q = self.model.qpos0.copy()
        j = self.joint
        hinges = self.random_joints(rng, {"random": 1.0, "lying": 1.0}.get(family, 0.3))
        q[7:] = hinges
        tilt = {"kneeling": 0.2, "crouching": 0.3, "lotus": 0.2, "splits": 0.2}.get(family, 0.1 if family in STANDING else math.pi)
        if family == "kneeling":  # thighs near vertical, knees bent: both or (a near miss) one knee to the floor
            for side in ("right", "left"):
                q[j[f"{side}_knee"]] = rng.uniform(-2.7, -1.2)
                q[j[f"{side}_hip_y"]] = rng.uniform(-0.6, 0.3)
            if rng.random() < one_knee:
                side = rng.choice(["right", "left"])
                q[j[f"{side}_knee"]], q[j[f"{side}_hip_y"]] = rng.uniform(-1.2, -0.2), rng.uniform(-1.6, -0.6)
        elif family == "crouching":  # hips and knees bent, feet down: squats and sitting, not kneeling
            for side in ("right", "left"):
                q[j[f"{side}_knee"]], q[j[f"{side}_hip_y"]] = rng.uniform(-2.6, -0.8), rng.uniform(-1.9, -0.6)
        elif family in STANDING:
            for side in ("right", "left"):
                q[j[f"{side}_knee"]] = rng.uniform(-0.3, 0.0)
        elif family == "lotus":  # thighs turned out and lifted, knees folded: a cross-legged seat, or short of one
            for side in ("right", "left"):
                q[[j[f"{side}_{n}"] for n in ("hip_x", "hip_z", "hip_y", "knee")]] = rng.uniform([-0.44, -1.05, -1.4, -2.79], [0.09, -0.4, -0.6, -2.0])
        elif family == "splits":  # straight legs turned out and spread: the side splits, or short of them
            for side in ("right", "left"):
                q[[j[f"{side}_{n}"] for n in ("hip_x", "hip_z", "hip_y", "knee")]] = rng.uniform([-0.44, -1.05, -1.6, -0.4], [-0.1, -0.5, -0.9, 0.0])
        if family == "one_leg":  # one foot lifted: the thigh raised and the knee bent, by a little or a lot
            side = rng.choice(["right", "left"])
            q[j[f"{side}_hip_y"]], q[j[f"{side}_knee"]] = rng.uniform(-1.6, -0.3), rng.uniform(-2.0, -0.3)
        if family in ARMS:  # the arms near a hand-built pose (tests/test_humanoid.py's), each hinge off by noise
            for name, angle in ARMS[family].items():
                q[j[name]] = angle + rng.normal(0, 0.1)
        if family == "arms_raised":  # each arm's shoulders as far up as they go (their signs mirror), elbows free
            up = rng.uniform(0.6, 1.0)
            q[j["right_shoulder1"]], q[j["right_shoulder2"]] = up * 1.04 + rng.normal(0, 0.1), up * 1.04 + rng.normal(0, 0.1)
            q[j["left_shoulder1"]], q[j["left_shoulder2"]] = -up * 1.04 + rng.normal(0, 0.1), -up * 1.04 + rng.normal(0, 0.1)
        q[7:] = np.clip(q[7:], self.low, self.high)
        axis = rng.normal(size=3) * [1, 1, 0.2]
        q[3:7] = quaternion(axis / np.linalg.norm(axis), rng.uniform(-tilt, tilt))
        q[3:7] = quat_mul(quaternion([0, 0, 1], rng.uniform(-0.6, 0.6) if rng.random() < 0.8 else rng.uniform(-math.pi, math.pi)), q[3:7])
        q[:2] = rng.uniform(-0.5, 0.5, 2)
        return self.settle(self.on_floor(q), SEATED_SETTLE.get(family, SETTLE_STEPS))

    def on_floor(self, q) -> np.ndarray:
        """q moved up or down so that its lowest geom touches the floor."""
        d, m = self.data, self.model
        d.qpos[:] = q
        self.mujoco.mj_kinematics(m, d)
        lowest = math.inf
        for g in self.bodies:  # capsules: the lower end of the axis (the geom's z), less the radius; spheres: centre
            half = m.geom_size[g, 1] if m.geom_type[g] == self.mujoco.mjtGeom.mjGEOM_CAPSULE else 0.0
            lowest = min(lowest, d.geom_xpos[g, 2] - abs(d.geom_xmat[g, 8]) * half - m.geom_size[g, 0])
        q = q.copy()
        q[2] -= lowest - 0.002
        return q

    def settle(self, q, steps: int = SETTLE_STEPS) -> np.ndarray:
        d = self.data
        d.qpos[:], d.qvel[:], d.ctrl[:] = q, 0, 0
        self.mujoco.mj_step(self.model, d, nstep=steps)
        return d.qpos.copy()

    def rollouts(self, n: int, rng) -> np.ndarray:
        """n states of random-action episodes of the env (SAC's warm-up actions, or one random action held with
        noise: a push in one direction), a tenth of each episode's 100 steps kept."""
        states = []
        while len(states) < n:
            self.env.reset(seed=int(rng.integers(2**31)))
            held = rng.uniform(-1, 1, 17) if rng.random() < 0.5 else np.zeros(17)
            noise = rng.uniform(0.3, 1.0)
            keep = set(rng.choice(100, 10, replace=False).tolist())
            for t in range(100):
                self.env.step(np.clip(held + noise * rng.uniform(-1, 1, 17), -1, 1))
                if t in keep:
                    states.append(self.env.unwrapped.data.qpos.copy())
        return np.stack(states[:n])


STANDING = ("standing", "arms_raised", "hands_on_hips", "arms_crossed", "one_leg")
ARMS = {"hands_on_hips": dict(right_shoulder1=0.79, right_shoulder2=-1.1, right_elbow=-0.54, left_shoulder1=-0.81, left_shoulder2=1.15,
                              left_elbow=-0.52),
        "arms_crossed": dict(right_shoulder1=-0.89, right_shoulder2=1.05, right_elbow=-0.13, left_shoulder1=0.89, left_shoulder2=-1.05,
                             left_elbow=-0.13)}
FAMILIES = {"kneeling": 0.4, "standing": 0.1, "arms_raised": 0.1, "crouching": 0.1, "lying": 0.08, "random": 0.22}
# --table1: each family's share set by how often its builds show its pose (a quarter of the kneeling family's, a
# third of one leg's), so that every pose labels about 1,000 of 24,000 frames; falls and flails give lying, the near
# misses of the arms and one leg give standing
TABLE1_FAMILIES = {"kneeling": 0.2, "hands_on_hips": 0.22, "one_leg": 0.17, "arms_crossed": 0.1, "arms_raised": 0.09,
                   "lotus": 0.08, "splits": 0.07, "crouching": 0.03, "random": 0.02, "standing": 0.02}


def sample_states(n: int, rng, poser: Poser, one_knee: float = 0.2, families: dict = FAMILIES) -> np.ndarray:
    """A quarter from random-action episodes, the rest built by family (`families`' shares); `one_knee` of the
    kneeling family lowers one knee only."""
    rollouts = n // 4
    families = rng.choice(list(families), n - rollouts, p=np.array(list(families.values())) / sum(families.values()))
    built = [poser.build(f, rng, one_knee) for f in tqdm(families, desc="poses", leave=False)]
    states = np.concatenate([poser.rollouts(rollouts, rng), np.stack(built)])
    return states[rng.permutation(n)]


def visited_files(patterns) -> list:
    """The states.npz files that `patterns` match, sorted; a pattern that matches none is an error."""
    files = sorted({f for pattern in patterns for f in glob.glob(pattern)})
    if missing := [p for p in patterns if not glob.glob(p)]:
        raise SystemExit(f"error: no states.npz matches {missing}")
    return files


def visited_states(patterns, every: int) -> np.ndarray:
    """qpos rows (every `every`-th step) of the evaluations' states.npz matched by `patterns`, in file order."""
    rows = [np.load(f)["qpos"].reshape(-1, 24)[::every] for f in visited_files(patterns)]
    return np.concatenate(rows).astype(np.float64) if rows else np.zeros((0, 24))


def quaternion(axis, angle) -> np.ndarray:
    return np.array([math.cos(angle / 2), *(math.sin(angle / 2) * np.asarray(axis, float))])


def quat_mul(a, b) -> np.ndarray:
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])


def pose_class(labeller: vs.HumanoidPoses, qpos, captions: dict = CAPTIONS) -> str:
    """The one class of a state: the first pose of `captions` shown (arms raised before standing: it is both), else
    one knee down (exactly one knee on the floor, the torso as high and upright as kneeling asks), else other."""
    shown = labeller(qpos)
    if any(shown[p] for p in captions):
        return next(p for p in captions if shown[p])
    d = labeller.data  # labeller() has just run the kinematics of qpos
    knees = sorted(d.body(b).xpos[2] for b in ("right_shin", "left_shin"))
    torso_up = d.body("torso").xpos[2] > vs.KNEEL_TORSO and d.body("torso").xmat[8] > vs.UPRIGHT
    return "one_knee" if knees[0] < vs.KNEE_ON_FLOOR <= knees[1] and torso_up else "other"


def render(states, chunk: int = 500, size: int = mini_clip.IMAGE_SIZE):
    """Yields uint8 (chunk, size, size, 3) frames, drawn as a --renderer warp run draws them (paper camera, generated look)."""
    renderer = vs.WarpRenderer(vs.Args(env_id="Humanoid-v5", look="generated", render_size=size, device="cpu"), nworld=chunk)
    out = torch.zeros((chunk, size, size, 3), dtype=torch.uint8)
    for i in tqdm(range(0, len(states), chunk), desc="render", leave=False):
        part = states[i:i + chunk]
        renderer.render(np.concatenate([part, np.repeat(part[-1:], chunk - len(part), 0)]), out)
        yield out[:len(part)].numpy().copy()


# ======================================================================================
# Evaluation on held-out states, through vlmrm_sac.CLIPReward on the saved model
# ======================================================================================


def auc(pos, neg) -> float:
    """The chance that a random frame of `pos` scores above a random one of `neg` (ties count half)."""
    pos, neg = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float((pos > neg).mean() + 0.5 * (pos == neg).mean()) if pos.size and neg.size else math.nan


def evaluate(path: str, states, labeller, one_knee: bool = True, captions: dict = CAPTIONS) -> dict:
    """Zero-shot accuracy over the captions the model was trained with (one-knee states count as the baseline's
    where it had no one-knee caption); each paper prompt of `captions` and its reward over every class."""
    reward = vs.CLIPReward(path, [CAPTIONS["kneeling"]], [BASELINE])
    image = torch.cat([reward.embed_images(f) for f in render(states, size=reward.image_size)])  # (N, D), normalized
    classes = [*captions, "one_knee", "other"]
    kind = np.array([classes.index(pose_class(labeller, q, captions)) for q in states])
    named = classes if one_knee else [c for c in classes if c != "one_knee"]
    truth = np.array([named.index(classes[k] if classes[k] in named else "other") for k in kind])
    sentences = [*captions.values(), *[ONE_KNEE] * one_knee, BASELINE]
    predicted = (image @ reward.embed_text(sentences).T).argmax(1).numpy()
    result = {"frames_per_class": {c: int((kind == k).sum()) for k, c in enumerate(classes)},
              "accuracy": float((predicted == truth).mean()),
              "accuracy_per_class": {c: float((predicted[truth == k] == k).mean()) for k, c in enumerate(named)},
              "prompts": {}}
    for k, (pose, sentence) in enumerate(captions.items()):
        r = vs.goal_baseline_reward(image, reward.embed_text([sentence])[0], reward.baseline_emb, 0.0).numpy()
        result["prompts"][sentence] = {
            "mean_reward_by_class": {c: float(r[kind == j].mean()) for j, c in enumerate(classes)},
            "auc_vs_each_class": {c: auc(r[kind == k], r[kind == j]) for j, c in enumerate(classes) if j != k},
            "auc_vs_rest": auc(r[kind == k], r[kind != k])}
    return result


def contact_sheet(path: str, states, labeller, columns: int = 10, captions: dict = CAPTIONS):
    """The first `columns` states of each class side by side, a row per class, named by its caption."""
    import matplotlib.pyplot as plt

    names = [*captions, "one_knee", "other"]
    classes = [pose_class(labeller, q, captions) for q in states]
    picked = [[i for i, c in enumerate(classes) if c == name][:columns] for name in names]
    frames = next(render(states[[i for row in picked for i in row]], chunk=sum(map(len, picked)), size=128))
    fig, axes = plt.subplots(len(names), columns, figsize=(columns * 1.2, len(names) * 1.35), squeeze=False)
    k = 0
    for row, (name, chosen) in enumerate(zip(names, picked)):
        for col, ax in enumerate(axes[row]):
            ax.set_axis_off()
            if col < len(chosen):
                ax.imshow(frames[k])
                k += 1
        title = {**captions, "one_knee": ONE_KNEE}.get(name, f"{BASELINE} (no pose of {', '.join(captions)}, not one knee)")
        axes[row][0].set_title(title, fontsize=8, loc="left")
    fig.suptitle("held-out states of tests/humanoid_clip.py, labelled by vlmrm_sac.HumanoidPoses (MuJoCo Warp, "
                 "paper camera, generated look)", fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"wrote {path}")


def pose_sheets(folder: str, poser: Poser, labeller, rng, count: int = 16, columns: int = 8):
    """A PNG per pose: `count` states of its family (Poser.build), each titled with the poses the labeller shows in
    it, green when it shows the family's pose: what each threshold lets in and keeps out, to check by eye."""
    import matplotlib.pyplot as plt

    Path(folder).mkdir(parents=True, exist_ok=True)
    for pose in vs.POSES:
        states = np.stack([poser.build(pose, rng) for _ in range(count)])
        frames = next(render(states, chunk=count, size=128))
        rows = math.ceil(count / columns)
        fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.3, rows * 1.45), squeeze=False)
        for ax, frame, q in zip(axes.flat, frames, states):
            shown = [p for p, on in labeller(q).items() if on]
            ax.imshow(frame)
            ax.set_title("\n".join(shown) or "no pose", fontsize=7, color="green" if pose in shown else "black")
            ax.set_axis_off()
        prompt = next(p for p, name in vs.POSE_OF_PROMPT.items() if name == pose)
        fig.suptitle(f"built for '{pose}' ({prompt!r}): vlmrm_sac.HumanoidPoses' labels (MuJoCo Warp, paper camera, "
                     "generated look)", fontsize=8)
        fig.savefig(Path(folder) / f"{pose}.png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        print(f"{pose}: {sum(labeller(q)[pose] for q in states)} of {count} built states show it")


# ======================================================================================
# Entry point
# ======================================================================================


def recipe(args: Args) -> tuple:
    """(captions, families, one-knee share) of the states: --table1's nine poses or CAPTIONS' four."""
    one_knee = args.one_knee_share if args.one_knee_share is not None else 0.4 if args.one_knee else 0.2
    return (TABLE1, TABLE1_FAMILIES, one_knee) if args.table1 else (CAPTIONS, FAMILIES, one_knee)


def captioned_states(args: Args, rng, poser: Poser, labeller) -> tuple:
    """(states, classes, captions) of the training frames: `args.frames` built states, then the --visited ones; each
    captioned with its class's sentence, the baseline for other states and for a random --generic-share of all."""
    captions, families, one_knee = recipe(args)
    states = np.concatenate([sample_states(args.frames, rng, poser, one_knee, families),
                             visited_states(args.visited, args.visited_every)])
    classes = [pose_class(labeller, q, captions) for q in states]
    named = {**captions, "one_knee": ONE_KNEE} if args.one_knee else captions
    sentences = [BASELINE if c not in named or rng.random() < args.generic_share else named[c] for c in classes]
    return states, classes, sentences


def main(args: Args):
    name = "_table1" if args.table1 else "_one_knee" * args.one_knee
    out = Path(args.out or ROOT / "results" / "mini_clip" / f"humanoid_{args.size}{name}")
    captions, families, one_knee_share = recipe(args)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    train_rng, eval_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(args.seed).spawn(2))
    start = time.time()
    poser, labeller = Poser(), vs.HumanoidPoses()
    if args.pose_sheets:
        return pose_sheets(args.pose_sheets, poser, labeller, eval_rng)
    if args.sheet:
        return contact_sheet(args.sheet, sample_states(400, eval_rng, poser, one_knee_share, families), labeller,
                             captions=captions)
    if args.evaluate:  # the held-out states depend only on the seed, the one-knee share and --table1, not on training
        knows = "knee</w>" in (Path(args.evaluate) / "tokenizer.json").read_text()  # trained with the one-knee caption
        held_out = {"held_out": evaluate(args.evaluate, sample_states(args.eval_frames, eval_rng, poser, one_knee_share,
                                                                      families), labeller, knows, captions)}
        if args.visited_held_out:
            held_out["held_out_visited"] = evaluate(args.evaluate, visited_states(args.visited_held_out, args.visited_every),
                                                    labeller, knows, captions)
        return print(json.dumps(held_out, indent=1))

    states, classes, captioned = captioned_states(args, train_rng, poser, labeller)
    pixels = torch.cat([mini_clip.reward_preprocess(f, CLIP_MEAN, args.image_size) for f in render(states, size=args.image_size)])
    sentences = sorted(set(captioned))
    named = {*captions.values(), *[ONE_KNEE] * args.one_knee}
    if set(sentences) != {BASELINE, *named}:
        raise SystemExit(f"error: no training frame carries {sorted({BASELINE, *named} - set(sentences))}")
    caption_ids = torch.tensor([sentences.index(c) for c in captioned])
    tokenizer = mini_clip.word_tokenizer(sentences)
    tokens = tokenizer(sentences, padding=True, return_tensors="pt")
    data_s = time.time() - start
    counts = {c: classes.count(c) for c in [*captions, "one_knee", "other"]}
    model = mini_clip.build_model(args.size, tokenizer, args.image_size)
    params = sum(p.numel() for p in model.parameters())
    print(f"{len(pixels)} frames ({data_s:.0f} s) of classes {counts}, {len(sentences)} captions, {params:,} parameters")
    train_args = mini_clip.Args(env="cartpole", size=args.size, seed=args.seed, epochs=args.epochs, batch_size=args.batch_size,
                                lr=args.lr, text_lr=args.text_lr, weight_decay=args.weight_decay, warmup=args.warmup)
    mini_clip.train(train_args, model, pixels, caption_ids, tokens)
    train_s = time.time() - start - data_s

    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    size = {"height": args.image_size, "width": args.image_size}
    CLIPImageProcessor(size={"shortest_edge": args.image_size}, crop_size=size, image_mean=CLIP_MEAN,
                       image_std=CLIP_STD).save_pretrained(out)
    reward = vs.CLIPReward(str(out), [CAPTIONS["kneeling"]], [BASELINE])
    if not torch.equal(reward.preprocess(next(render(states[:8], size=args.image_size))).float(), pixels[:8]):
        raise SystemExit("error: the saved model's preprocessing differs from training's")

    results = {"args": asdict(args), "visited_files": visited_files(args.visited),
               "visited_held_out_files": visited_files(args.visited_held_out), "parameters": params, "data_s": data_s, "train_s": train_s,
               "train_frames_per_class": counts, "model_mb": (out / "model.safetensors").stat().st_size / 2**20,
               "held_out": evaluate(str(out), sample_states(args.eval_frames, eval_rng, poser, one_knee_share, families),
                                    labeller, args.one_knee, captions)}
    if args.visited_held_out:
        results["held_out_visited"] = evaluate(str(out), visited_states(args.visited_held_out, args.visited_every),
                                               labeller, args.one_knee, captions)
    (out / "eval.json").write_text(json.dumps(results, indent=1))
    print(f"\nsaved to {out}: {params:,} parameters, data {data_s:.0f} s, train {train_s:.0f} s on {args.threads} thread(s)")
    for name in ("held_out", "held_out_visited")[:1 + bool(args.visited_held_out)]:
        h = results[name]
        print(f"{name}: zero-shot accuracy {h['accuracy']:.3f}; per class " +
              ", ".join(f"{c} {a:.2f} ({h['frames_per_class'][c]})" for c, a in h["accuracy_per_class"].items()))
        for sentence, p in h["prompts"].items():
            print(f"{sentence!r}: AUC vs rest {p['auc_vs_rest']:.3f}; mean reward " +
                  " ".join(f"{c} {v:.3f}" for c, v in p["mean_reward_by_class"].items()))


if __name__ == "__main__":
    main(tyro.cli(Args))
