"""VLM-RM with a handwritten SAC: a CLIP model is the zero-shot reward, the policy sees states.

Rocamonde et al., "Vision-Language Models are Zero-Shot Reward Models for Reinforcement Learning",
ICLR 2024 (arXiv 2310.12921). One file, read top to bottom:

    Args -> environments (the paper's rules) -> reward model (CLIP + goal-baseline projection)
    -> SAC (networks, buffer, update) -> the training loop, train() -> evaluation -> main
    -> Appendix A: the loop's parts (a stretch, CLIP on a side thread, gradient steps, metrics, videos, checkpoints)
    -> Appendix B: input checks and faults
    -> Appendix C: the env pool (worker processes stepping the envs; EGL or MuJoCo Warp rendering)
    -> Appendix D: the paper's looks (the authors' image files; stand-ins in looks/generated/)

    python vlmrm_sac.py --prompt "a humanoid robot kneeling" --baseline-prompt "a humanoid robot"
"""

import collections
import concurrent.futures
import contextlib
import csv
import difflib
import functools
import hashlib
import importlib.util
import json
import math
import multiprocessing
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Annotated, Literal, NamedTuple, Optional

# Headless rendering: MuJoCo through EGL, classic control through SDL's dummy video driver.
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import tyro
from tqdm import tqdm

# ======================================================================================
# Args
# ======================================================================================


PAPER_CLIP_MODEL = "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k"  # ViT-bigG-14, the paper's humanoid model
PAPER_PROMPTS = {  # env family -> the paper's (goal, baseline); the other humanoid tasks are in README.md
    "Humanoid": ("a humanoid robot kneeling", "a humanoid robot"),
    "CartPole": ("pole vertically upright on top of the cart", "pole and cart"),
    "MountainCarContinuous": ("a car at the peak of the mountain, next to the yellow flag", "a car in the mountain"),
}
PAPER_PROMPT = PAPER_PROMPTS["Humanoid"][0]  # --prompt's default
Repeatable = tyro.conf.UseAppendAction  # --prompt a --prompt b gives ("a", "b")


@dataclass
class Args:
    # --- experiment
    exp_name: str = "vlmrm_sac"
    """the name of this experiment (part of the run name)"""
    seed: int = 1
    """seed of torch, numpy and every episode's reset"""
    torch_deterministic: bool = True
    """sets torch.backends.cudnn.deterministic"""
    device: str = "auto"
    """torch device for SAC and the reward model: auto (cuda if available), cpu, cuda, cuda:1, ..."""
    run_dir: str = "runs"
    """runs are written to {run_dir}/{env_id}__{exp_name}__{seed}__{unix time}/"""

    # --- environments (as the paper renders them)
    env_id: str = "Humanoid-v5"
    """gymnasium env id: Humanoid (v4 is the paper's), CartPole-v1, MountainCarContinuous-v0 get the paper's rules and looks"""
    num_envs: int = 32
    """parallel environments"""
    episode_length: Optional[int] = None
    """steps per episode, the last one terminal; None: the paper's (Humanoid 100, CartPole, MountainCar 200), stock for others"""
    time_feature: bool = False
    """append the share of the episode left to the observation, a clock for the critic (not in the paper)"""
    render_size: int = 480
    """frame height and width of MuJoCo envs; classic-control envs render at their stock 600x400"""
    paper_camera: bool = True
    """Humanoid: the paper's fixed front camera (--no-paper-camera: the stock side camera that follows the body)"""
    look: Literal["paper", "generated", "stock"] = "paper"
    """Humanoid, MountainCar: paper (the authors' images, downloaded once), generated (stand-ins in looks/generated/, offline), stock"""
    look_dir: Optional[str] = None
    """a folder holding the authors' image files, or a clone of their repository, instead of downloading them"""
    renderer: Literal["egl", "warp"] = "egl"
    """Humanoid: egl (each worker renders its envs, the reference) or warp (MuJoCo Warp: all envs in one batch on --device)"""
    num_workers: Optional[int] = None
    """processes that step and render the envs; None: one per CPU core (at most one per env); 0: all in this process"""

    # --- reward model
    reward: Literal["clip", "env"] = "clip"
    """what SAC trains on: clip, the zero-shot CLIP reward, or env, the environment's own (both returns are logged)"""
    prompt: Annotated[tuple[str, ...], Repeatable] = ()
    """goal prompt (default: "a humanoid robot kneeling"); several are averaged after normalizing"""
    baseline_prompt: Annotated[tuple[str, ...], Repeatable] = ()
    """baseline prompt of the goal-baseline projection (used when alpha > 0); several are averaged"""
    log_prompt: Annotated[tuple[str, ...], Repeatable] = ()
    """a sentence scored like the goal on every frame, never trained on: its return and the goal's vote are logged per episode"""
    alpha: float = 0.0
    """goal-baseline regularization strength in [0, 1]: 0 is the cosine with the goal (the paper's humanoid runs)"""
    reward_rule: Literal["projection", "softmax", "log-softmax"] = "projection"
    """projection: the paper's goal-baseline reward; softmax (log-softmax): the goal's probability (its log) against
    each --baseline-prompt, CLIP's zero-shot classifier at the model's logit scale (--alpha 0)"""
    reward_offset: float = 0.0
    """a constant added to the CLIP reward SAC trains on (the logged CLIP return stays the model's); the paper: 0"""
    clip_model: Annotated[Optional[str], tyro.conf.arg(metavar="MODEL")] = None
    """hub id or local directory of a CLIP-like model; None: the paper's laion/CLIP-ViT-bigG-14-laion2B-39B-b160k"""
    log_clip_reward: bool = True
    """with --reward env, still compute the CLIP reward to log it (--no-log-clip-reward: no CLIP model, no frames)"""
    reward_frames: int = 1
    """K: a transition's reward scores the last K frames of its episode (image models: their mean embedding; X-CLIP: the clip)"""
    reward_batch_size: int = 256
    """frames per CLIP forward pass"""
    reward_precision: Literal["auto", "fp32", "amp-fp16", "amp-bf16", "fp16", "bf16"] = "auto"
    """auto: amp-fp16 on CUDA (the authors': fp32 weights, fp16 autocast), fp32 on CPU; fp16/bf16: half-precision weights"""

    # --- SAC
    total_timesteps: Optional[int] = None
    """environment steps, all envs together; None: 10M, or a resumed run's own (give more to continue a finished run)"""
    buffer_size: int = 1_000_000
    """replay buffer size in transitions"""
    gamma: float = 0.95
    """discount factor"""
    tau: float = 0.005
    """target network smoothing coefficient"""
    batch_size: int = 512
    """batch size of each gradient step"""
    learning_starts: int = 50_000
    """environment steps of uniformly random actions before learning starts"""
    policy_lr: float = 6e-4
    """learning rate of the policy and of the entropy coefficient"""
    q_lr: float = 6e-4
    """learning rate of the Q networks"""
    target_network_frequency: int = 1
    """gradient steps between target network updates"""
    train_frequency: int = 100
    """vector steps per stretch: a stretch is collected, scored by CLIP, then trained on"""
    gradient_steps: int = 100
    """gradient steps after each stretch"""
    use_sde: bool = False
    """explore with state-dependent noise drawn per stretch (gSDE, SB3's use_sde; rl-zoo's MountainCar), continuous actions"""
    sde_log_std_init: float = -3.0
    """--use-sde: the initial log std of the noise weights (SB3's default; rl-zoo's MountainCar: -3.67)"""
    ent_coef: str = "auto"
    """SAC's entropy coefficient (--alpha here is the paper's): auto (tuned from 1, SB3's), auto_X (tuned from X) or a number"""
    hidden_size: int = 256
    """width of the two hidden layers of every network"""

    # --- logging, videos, checkpoints
    log_interval: int = 10_000
    """environment steps between rows of training metrics (losses, steps/s) in metrics.csv"""
    tensorboard: bool = True
    """write TensorBoard event files into the run directory, to watch the run live: tensorboard --logdir runs"""
    track: bool = False
    """also log the metrics, the args and the videos to Weights & Biases"""
    wandb_project_name: str = "vlmrm-sac"
    """the W&B project of --track"""
    wandb_entity: Optional[str] = None
    """the W&B user or team of --track; None: yours"""
    video_interval: int = 100_000
    """record env 0's next episode every this many environment steps (0: no videos; --eval-checkpoint films the trained policy)"""
    checkpoint_interval: int = 128_000
    """environment steps between checkpoints step_*.pt, among which best.pt is chosen (latest.pt: at the end and at a stop)"""
    best_window: int = 512
    """best.pt is the checkpoint with the highest mean training return over this many last episodes"""
    save_buffer: bool = False
    """also save the replay buffer into latest.pt, so that a resumed run equals a straight one (large; without it, a
    resumed run refills the buffer with its policy before it trains again)"""
    resume: Optional[str] = None
    """continue the run of this checkpoint, with its own args (--clip-model and --look-dir may replace its model, images)"""
    convert_checkpoint: Optional[str] = None
    """rewrite this checkpoint of an older vlmrm_sac.py (format 5) in place in today's format, which loading reads as data"""

    # --- evaluation
    eval_checkpoint: Optional[str] = None
    """evaluate this checkpoint instead of training: eval.csv, videos, every frame, labels.csv to fill in"""
    eval_episodes: int = 100
    """episodes to evaluate"""
    deterministic: bool = False
    """evaluate the policy's mean action instead of sampling (the paper samples)"""

    def __post_init__(self):
        self.prompt = self.prompt or (PAPER_PROMPT,)


# ======================================================================================
# Environments, as the paper renders them
# ======================================================================================

PAPER_EPISODE_LENGTH = {"Humanoid": 100, "CartPole": 200, "MountainCarContinuous": 200}
CARTPOLE_X_LIMIT = 2.4  # the cart is clipped to the stock track, +-2.4
MOUNTAINCAR_X_RANGE = (-1.2, 0.6)  # the stock track
MOUNTAINCAR_GOAL = 0.45  # the flag: once reached, x is capped there
LOOK_FAMILIES = ("Humanoid", "MountainCarContinuous")  # the envs whose look --look chooses (Appendix D)


def env_family(env_id: str) -> str:
    """'Humanoid-v5' -> 'Humanoid'; the paper's rules are chosen by family, any version."""
    return env_id.split("-v")[0]


def episode_length_for(args: Args) -> Optional[int]:
    return args.episode_length or PAPER_EPISODE_LENGTH.get(env_family(args.env_id))


class FixedLength(gym.Wrapper):
    """Episodes of exactly `length` steps whose last step is terminal (the paper: no bootstrapping
    across the end); the env's own termination and truncation are ignored. `clock` (not the paper's): the
    observation gets one more entry, the share of the episode left, 1 after the reset down to 0 after the
    last step (rl-zoo's TimeFeatureWrapper), so that a state's value may depend on the time left."""
    def __init__(self, env, length: int, clock: bool = False):
        super().__init__(env)
        self.length, self.t, self.clock = length, 0, clock
        if clock:
            space = env.observation_space
            self.observation_space = gym.spaces.Box(np.append(space.low, 0).astype(space.dtype), np.append(space.high, 1).astype(space.dtype))

    def observe(self, obs):
        return np.append(obs, 1 - self.t / self.length).astype(obs.dtype) if self.clock else obs

    def reset(self, **kwargs):
        self.t = 0
        obs, info = self.env.reset(**kwargs)
        return self.observe(obs), info

    def step(self, action):
        obs, reward, _, _, info = self.env.step(action)
        self.t += 1
        return self.observe(obs), reward, self.t >= self.length, False, info


class CartPoleRules(gym.Wrapper):
    """The paper's CartPole: the stock termination is ignored, the pole angle is wrapped to [-pi, pi]
    and the cart clipped to +-2.4 after each step. info: `pole_up` by the stock rule, `success` = the
    pole has not fallen yet this episode. Ground-truth reward: 1 while the pole is up."""
    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.fell = False
        return obs, {**info, "pole_up": True, "success": True}

    def step(self, action):
        _, _, fallen, _, info = self.env.step(action)
        cartpole = self.env.unwrapped
        cartpole.steps_beyond_terminated = None  # we keep stepping after a fall on purpose
        x, x_dot, theta, theta_dot = cartpole.state
        theta = (theta + math.pi) % (2 * math.pi) - math.pi
        cartpole.state = np.array([np.clip(x, -CARTPOLE_X_LIMIT, CARTPOLE_X_LIMIT), x_dot, theta, theta_dot], dtype=np.float64)
        self.fell |= bool(fallen)
        info = {**info, "pole_up": not fallen, "success": not self.fell}
        return np.array(cartpole.state, dtype=np.float32), float(not fallen), False, False, info


class MountainCarRules(gym.Wrapper):
    """The paper's MountainCar (the authors' rule): once the car has reached x >= 0.45 in an episode, x is capped at
    0.45 after every later step while the velocity and the physics go on, so the car rolls back unless it is pushed;
    the stock termination is ignored. info: `success` = the flag reached in this episode. Ground-truth reward: the
    stock one until the flag is first reached, 0 after it. The frame: a background and a car sprite (`images`: the
    authors' photograph and car, or the generated look's stand-ins), or gymnasium's own (stock look, no images)."""
    def __init__(self, env, images: Optional[dict] = None):
        super().__init__(env)
        self.images = images

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.reached = False
        return obs, {**info, "success": False}

    def step(self, action):
        car = self.env.unwrapped
        _, reward, _, _, info = self.env.step(action)
        reward = 0.0 if self.reached else float(reward)
        x, velocity = car.state
        self.reached |= bool(x >= MOUNTAINCAR_GOAL)
        if self.reached:
            car.state = np.array([min(x, MOUNTAINCAR_GOAL), velocity])
        return np.array(car.state, dtype=np.float32), reward, False, False, {**info, "success": self.reached}

    def render(self):
        return draw_mountaincar(float(self.env.unwrapped.state[0]), self.images) if self.images else self.env.render()


class NoTorqueArrow(gym.Wrapper):
    """Pendulum, for goals of motion (--reward-frames): its stock frame draws the last torque as an arrow, which
    would tell a single frame which way the policy pushes. Drawn without it, a frame shows only the pendulum."""
    def render(self):
        pendulum = self.env.unwrapped
        last_u, pendulum.last_u = pendulum.last_u, None
        try:
            return self.env.render()
        finally:
            pendulum.last_u = last_u


# The paper's human labeller, from the state: which poses a Humanoid state shows, from MuJoCo's body positions.
# Heights are of body origins (z up, floor at 0) in gymnasium's humanoid.xml. Standing at rest: torso 1.40, head
# 1.59, pelvis 0.98, each knee (a shin body's origin) 0.53, each foot 0.08 (-0.03 resting on the floor), hands 1.46;
# hip joints (thigh origins) 0.2 apart, feet 0.18. Kneeling upright, thighs vertical: knees 0.05 (the shin capsule's
# radius is 0.049), torso 0.90.
KNEE_ON_FLOOR = 0.12  # a knee this low rests on the floor; one higher kneels "in the air", which the paper rejects
FOOT_ON_FLOOR = 0.15  # about twice a standing foot's height: a heel may lift, a foot in the air does not count
FOOT_LIFTED = 0.2  # a foot clearly off the floor: its sole 0.2 up, above what a heel raise or a shuffle lifts
KNEEL_TORSO = 0.65  # kneeling upright or sitting back on the heels; lower, the body is folded over or down
STAND_TORSO = 1.2  # 0.2 below rest: legs straight enough to call it standing, not a squat
UPRIGHT, STAND_UPRIGHT = 0.7, 0.9  # cos of the torso's tilt from vertical: within 45 degrees kneeling, 25 standing
LYING_HEAD = 0.45  # head and torso below this: on the floor (a body sitting up holds its head higher)
# Seated on the floor. The hips turn a thigh out by at most 60 degrees and lift it 25, so this body cannot rest a
# foot on the other thigh: its cross-legged seat settles with the pelvis at 0.24 on the crossed feet, knees below it
# (0.05) and 0.5-0.8 apart, feet within 0.15 of each other. Kneeling holds the pelvis at 0.34 or more (99% of the
# kneeling states of the committed evaluations); a seat with knees on the floor is lotus, not kneeling.
SEATED_PELVIS = 0.3
SPINE_UP = 0.3  # torso above pelvis: 0.42 sitting straight; less, the spine folds forward over the legs
KNEES_OUT, FEET_IN = 0.45, 0.3  # knees out to the sides (more than twice the hips' 0.2), feet tucked in together
# The side splits: straight legs turned out and spread sideways put the feet 1.6 apart, the pelvis 0.11 high.
# Standing, the legs spread at most 0.9 (the hips lift a thigh sideways by 25 degrees).
SPLITS_FEET, SPLITS_PELVIS = 1.0, 0.5
# Hands: a hand's centre (radius 0.04) resting on the side of the pelvis (half width 0.16) lies 0.10-0.14 from its
# hip joint; the lowest a straight arm hangs, 0.20. On the other arm: 0.04 + the upper arm's radius 0.04 + a sleeve.
# The shoulders cannot cross the arms at the chest (below 1.3 m a hand comes no nearer the other arm than 0.27):
# the crossing this body reaches holds the forearms before the face, hands at 1.4-1.5.
HAND_ON_HIP, HAND_ON_ARM = 0.15, 0.15
POSES = ("kneeling", "standing", "arms_raised", "lying", "lotus", "splits", "hands_on_hips", "arms_crossed", "one_leg")
POSE_OF_PROMPT = {"a humanoid robot kneeling": "kneeling", "a humanoid robot standing up": "standing",
                  "a humanoid robot standing up, with both arms raised": "arms_raised", "a humanoid robot lying down": "lying",
                  "a humanoid robot seated down, meditating in the lotus position": "lotus",
                  "a humanoid robot practicing gymnastics, doing the side splits": "splits",
                  "a humanoid robot standing up with hands on hips": "hands_on_hips",
                  "a humanoid robot standing up, with its arms crossed": "arms_crossed",
                  "a humanoid robot standing up on one leg": "one_leg"}


def segment_distance(p, a, b) -> float:  # from point p to the segment a-b
    t = np.clip(np.dot(p - a, b - a) / np.dot(b - a, b - a), 0.0, 1.0)
    return float(np.linalg.norm(p - a - t * (b - a)))


class HumanoidPoses:
    """poses(qpos) -> {pose: bool} for POSES, by the thresholds above (forward kinematics on a private MjData, so the
    same function labels live envs, saved episodes (their npz's qpos) and the small CLIP's training states)."""
    def __init__(self, model=None):
        import mujoco
        if model is None:  # the bodies are gymnasium's humanoid.xml whatever the look
            model = mujoco.MjModel.from_xml_path(humanoid_xml("stock"))
        self.mujoco, self.model, self.data = mujoco, model, mujoco.MjData(model)

    def __call__(self, qpos) -> dict:
        d = self.data
        d.qpos[:] = qpos
        self.mujoco.mj_kinematics(self.model, d)
        at, hand = (lambda name: d.body(name).xpos), (lambda side: d.geom(f"{side}_hand").xpos)
        torso, pelvis, head, up = at("torso")[2], at("pelvis")[2], float(d.geom("head").xpos[2]), float(d.body("torso").xmat[8])
        feet, knees = sorted([at("right_foot")[2], at("left_foot")[2]]), [at("right_shin")[2], at("left_shin")[2]]
        apart = lambda part: float(np.linalg.norm((at(f"right_{part}") - at(f"left_{part}"))[:2]))  # noqa: E731
        side = d.body("pelvis").xmat.reshape(3, 3)[:2, 1]  # the pelvis's left, on the floor
        sideways = abs(np.dot((at("right_foot") - at("left_foot"))[:2], side)) / max(np.linalg.norm(side), 1e-9)
        tall = torso > STAND_TORSO and up > STAND_UPRIGHT  # legs straight and the torso upright: standing on its feet
        standing = feet[1] < FOOT_ON_FLOOR and tall
        sides = (("right", "left"), ("left", "right"))
        lotus = (pelvis < SEATED_PELVIS and torso - pelvis > SPINE_UP and up > UPRIGHT and max(knees) < pelvis
                 and apart("shin") > KNEES_OUT and apart("foot") < FEET_IN)
        shown = {"kneeling": max(knees) < KNEE_ON_FLOOR and torso > KNEEL_TORSO and up > UPRIGHT and not lotus,
                 "standing": standing,
                 "arms_raised": standing and bool(min(hand("right")[2], hand("left")[2]) > head),
                 "lying": max(torso, head) < LYING_HEAD,
                 "lotus": lotus,
                 "splits": pelvis < SPLITS_PELVIS and up > UPRIGHT and feet[1] < FOOT_ON_FLOOR and sideways > SPLITS_FEET,
                 "hands_on_hips": standing and all(np.linalg.norm(hand(s) - at(f"{s}_thigh")) < HAND_ON_HIP for s, _ in sides),
                 "arms_crossed": standing and all(segment_distance(hand(s), at(f"{o}_upper_arm"), at(f"{o}_lower_arm"))
                                                  < HAND_ON_ARM for s, o in sides),
                 "one_leg": feet[0] < FOOT_ON_FLOOR < FOOT_LIFTED < feet[1] and tall}
        return {pose: bool(on) for pose, on in shown.items()}

    def shares(self, qpos) -> dict:  # eval.csv's pose columns: the share of an episode's steps (qpos rows) in each pose
        shown = [self(q) for q in qpos]
        return {f"{p}_share": float(np.mean([s[p] for s in shown])) for p in POSES}


def pose_success(share: float) -> bool:  # the paper's success: the goal pose in at least half of an episode's steps
    return share >= 0.5


class PoseSuccess(gym.Wrapper):
    """Humanoid with a goal pose: info `success` = pose_success of the episode's steps so far (the paper's success
    at the episode's end), `pose_steps` = the steps in the pose so far."""
    def __init__(self, env, pose: str):
        super().__init__(env)
        self.pose, self.poses = pose, HumanoidPoses(env.unwrapped.model)

    def reset(self, **kwargs):
        self.t = self.shown = 0
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.t, self.shown = self.t + 1, self.shown + self.poses(self.env.unwrapped.data.qpos)[self.pose]
        return obs, reward, terminated, truncated, {**info, "success": pose_success(self.shown / self.t), "pose_steps": self.shown}


# The paper's camera: a fixed free camera in front of the robot (it faces +x; azimuth 180 looks back along -x).
# gymnasium copies these keys onto its MjvCamera; with no camera_id/name it renders camera -1 as a free camera,
# so the view never follows the body.
PAPER_CAMERA = {"distance": 3.5, "lookat": np.array([0.0, 0.0, 1.0]), "elevation": -10.0, "azimuth": 180.0, "trackbodyid": -1}

# Stock camera (the ablation): the XML's "track" camera, a side view that follows the body, as
# Humanoid rendered in gym. gymnasium 1.x renders a fixed free camera unless camera_name is given.
STOCK_CAMERA = {"camera_name": "track"}


def make_env(env_id: str, episode_length: Optional[int] = None, render_size: int = 480, paper_camera: bool = True,
             look: str = "paper", look_dir: Optional[str] = None, time_feature: bool = False,
             pose: Optional[str] = None) -> gym.Env:
    """One env with the paper's rules and looks; built inside the worker process that steps it."""
    family = env_family(env_id)
    images = look_images(look, look_dir) if family in LOOK_FAMILIES else None
    kwargs = {"render_mode": "rgb_array"}
    if episode_length:
        kwargs["max_episode_steps"] = episode_length  # FixedLength ends it; no earlier TimeLimit
    if is_mujoco(env_id):
        kwargs.update(width=render_size, height=render_size)
    if family == "Humanoid":
        kwargs.update(terminate_when_unhealthy=False, **({} if paper_camera else STOCK_CAMERA))
        if env_id != "Humanoid-v4":  # v5 takes the look as arguments; v4 gets it below
            kwargs.update(xml_file=humanoid_xml(look, images), **({"default_camera_config": PAPER_CAMERA} if paper_camera else {}))
    env = gym.make(env_id, **kwargs)
    if env_id == "Humanoid-v4":
        humanoid_v4_look(env.unwrapped, humanoid_xml(look, images), paper_camera)
    if family == "CartPole":
        env = CartPoleRules(env)
    elif family == "MountainCarContinuous":
        env = MountainCarRules(env, images)
    elif family == "Pendulum":
        env = NoTorqueArrow(env)
    elif family == "Humanoid" and pose:
        env = PoseSuccess(env, pose)
    if episode_length:
        env = FixedLength(env, episode_length, clock=time_feature)
    if isinstance(env.action_space, gym.spaces.Box):  # SAC acts in [-1, 1], as SB3's: the env's bounds are its own
        env = gym.wrappers.RescaleAction(env, -1.0, 1.0)
    return env


def goal_pose(args: Args) -> Optional[str]:
    """The pose HumanoidPoses knows for a Humanoid run's one goal prompt, if it knows it: its episodes' success."""
    return POSE_OF_PROMPT.get(args.prompt[0]) if env_family(args.env_id) == "Humanoid" and len(args.prompt) == 1 else None


def is_mujoco(env_id: str) -> bool:
    return env_id in gym.registry and "mujoco" in str(gym.registry[env_id].entry_point)


def render(env: gym.Env) -> np.ndarray:
    """env.render(), with a MuJoCo env's own GL context made current first: gymnasium renders into whichever
    context is current, which with several MuJoCo envs in one process is the last one made."""
    viewer = getattr(env.unwrapped, "mujoco_renderer", None) and env.unwrapped.mujoco_renderer.viewer
    if viewer is not None:
        viewer.make_context_current()
    return env.render()


def episode_seed(seed: int, env_idx: int, episode: int) -> int:
    """Every episode is reset with its own seed, so a resumed run replays exactly what a straight one would."""
    return int(np.random.SeedSequence([seed, env_idx, episode]).generate_state(1)[0])


def make_env_pool(args: Args, slots: int = 1, render_envs: int = 0) -> "EnvPool":
    """The envs of a run, stepped by --num-workers processes (Appendix C): pool.step(actions, slot=t) steps every
    env, and the state env i < render_envs reached is drawn into pool.frames[t, i], (slots, render_envs, H, W, 3)
    uint8, which CLIP reads in place: by the worker into shared memory (EGL), or, with --renderer warp, by
    MuJoCo Warp in this process, all envs in one batch, into a tensor on --device (Appendix C's WarpRenderer)."""
    env_kwargs = dict(env_id=args.env_id, episode_length=episode_length_for(args), render_size=args.render_size,
                      paper_camera=args.paper_camera, look=args.look if render_envs else "stock",  # none is drawn
                      look_dir=args.look_dir, time_feature=args.time_feature, pose=goal_pose(args))
    # the shared buffer is made before any worker starts, so its frame size is found here
    shape = frame_shape(args) if render_envs else None
    num_workers = min(args.num_envs, len(os.sched_getaffinity(0))) if args.num_workers is None else args.num_workers
    renderer = WarpRenderer(args, render_envs) if args.renderer == "warp" and render_envs else None
    return EnvPool(env_kwargs, args.num_envs, num_workers, shape, slots, render_envs, renderer)


# ======================================================================================
# Reward model: CLIP with the goal-baseline projection
# ======================================================================================


def goal_baseline_reward(image_emb: torch.Tensor, goal_emb: torch.Tensor, baseline_emb: torch.Tensor,
                         alpha: float) -> torch.Tensor:
    """r(x) = 1 - 0.5 * ||(x - g) P||^2,  P = alpha * d d^T / ||d||^2 + (1 - alpha) I,  d = g - b.

    image_emb (N, D) is normalized here; goal and baseline (D,) are means of normalized text
    embeddings. P is symmetric, so (x - g) P = (1 - alpha)(x - g) + alpha ((x - g).d / d.d) d:
    no D x D matrix (D = 1280 for ViT-bigG-14). alpha = 0 gives cos(x, g) for a unit-norm g.
    Returns (N,).
    """
    x = F.normalize(image_emb, dim=-1)
    diff = x - goal_emb  # (N, D)
    projected = (1 - alpha) * diff
    if alpha > 0:
        direction = goal_emb - baseline_emb  # (D,), or (N, D) for a video model's per-clip text embeddings
        along = (diff * direction).sum(-1) / (direction * direction).sum(-1)  # (N,)
        projected = projected + alpha * along[:, None] * direction
    return 1 - 0.5 * projected.pow(2).sum(-1)


def features(output) -> torch.Tensor:
    """transformers 5 returns an output object whose pooler_output is the projected embedding."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


PRECISIONS = {  # name -> (dtype of the image tower's weights, autocast dtype for images or None)
    "fp32": (torch.float32, None), "fp16": (torch.float16, None), "bf16": (torch.bfloat16, None),
    "amp-fp16": (torch.float32, torch.float16),  # the authors': fp32 weights, images under fp16 autocast
    "amp-bf16": (torch.float32, torch.bfloat16)}


def resolve_precision(precision: str, device: torch.device) -> str:
    """auto: the authors' amp-fp16 on CUDA, fp32 elsewhere."""
    return ("amp-fp16" if device.type == "cuda" else "fp32") if precision == "auto" else precision


def preprocess_frames(frames, size: int, mean: torch.Tensor, std: torch.Tensor, device) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, size, size) on `device`: the WHOLE frame resized to the model's square
    input (bicubic, no crop), clamped to [0, 1], normalized with the model's mean and std (3, 1, 1). Antialiased, as
    CLIP's own (PIL) preprocessing; the authors' torchvision resize was not, which lets fine detail alias at 224.

    On a CPU the frames go four at a time: a float copy of a whole batch of full frames falls out of the caches
    (200 CartPole frames of 600x400: 3.8x slower in one go). Each frame's pixels are the same either way."""
    device = torch.device(device)
    if isinstance(frames, np.ndarray):
        frames = np.ascontiguousarray(frames)  # MuJoCo's renders are flipped views (negative strides)
    frames = torch.as_tensor(frames)
    step = 4 if device.type == "cpu" else max(1, len(frames))
    pieces = []
    for i in range(0, len(frames), step):
        x = frames[i:i + step].to(device, non_blocking=True).permute(0, 3, 1, 2).float() / 255.0
        x = F.interpolate(x, size=(size, size), mode="bicubic", antialias=True,
                          align_corners=False).clamp_(0, 1)  # clamp: bicubic overshoots, as a uint8 image cannot
        pieces.append((x - mean.to(device)) / std.to(device))
    return torch.cat(pieces) if pieces else torch.zeros(0, 3, size, size, device=device)


class CLIPReward(nn.Module):
    """Maps frames, uint8 (N, H, W, 3), to goal-baseline rewards (N,) float32. Prompts are encoded once, in fp32;
    frames are preprocessed on the model's device (preprocess_frames: the whole frame, so CartPole's track and
    MountainCar's flag stay in view, as in the paper) and encoded in chunks of `batch_size` at `precision`
    (PRECISIONS).

    The loop and the evaluation use scores (N, C): the reward, then each logged prompt's and the goal's vote (C = K + 2
    for K logged prompts). score_frames scores each frame alone, score_windows each with the window of its episode's
    last `reward_frames` frames (--reward-frames), score_episode a whole episode; all end in score_embeddings."""
    def __init__(self, model_name_or_path: str, goal_prompts, baseline_prompts=(), alpha: float = 0.0,
                 device="cpu", precision: str = "auto", batch_size: int = 256, log_prompts=(), reward_frames: int = 1,
                 rule: str = "projection"):
        super().__init__()
        goal_prompts, baseline_prompts, self.log_prompts = list(goal_prompts), list(baseline_prompts), list(log_prompts)
        check_prompts(goal_prompts, baseline_prompts, alpha, self.log_prompts, rule=rule)
        from transformers import AutoImageProcessor, AutoModel, AutoTokenizer
        self.device = torch.device(device)
        self.precision = resolve_precision(precision, self.device)
        self.alpha, self.batch_size, self.rule = alpha, batch_size, rule
        self.model = load_pretrained(AutoModel, model_name_or_path, dtype=torch.float32).to(self.device).eval()
        self.video, self.reward_frames = hasattr(self.model, "prompts_generator"), reward_frames  # video: X-CLIP
        if rule != "projection" and (self.video or not hasattr(self.model, "logit_scale")):
            raise UserError(f"--reward-rule {rule} needs an image-text model with a logit scale (CLIP, SigLIP), not "
                            f"a {type(self.model).__name__}: use --reward-rule projection")
        self.logit_scale = float(self.model.logit_scale.detach().exp()) if rule != "projection" else None
        if not self.video and not (hasattr(self.model, "get_image_features") and hasattr(self.model, "get_text_features")):
            raise UserError(f"{model_name_or_path!r} is a {type(self.model).__name__}, neither an image-text model "
                            "(get_image_features / get_text_features, CLIP-like) nor a video-text one (X-CLIP)")
        if self.video and reward_frames != self.model.config.vision_config.num_frames:
            raise UserError(f"{model_name_or_path!r} scores clips of {self.model.config.vision_config.num_frames} "
                            f"frames, not {reward_frames}: use --reward-frames {self.model.config.vision_config.num_frames}")
        self.tokenizer = load_pretrained(AutoTokenizer, model_name_or_path)
        processor = load_pretrained(AutoImageProcessor, model_name_or_path)
        self.image_size = int(self.model.config.vision_config.image_size)
        self.register_buffer("image_mean", torch.tensor(processor.image_mean, device=self.device).view(3, 1, 1))
        self.register_buffer("image_std", torch.tensor(processor.image_std, device=self.device).view(3, 1, 1))

        # the prompts' text embeddings as the model projects them (P, D): X-CLIP conditions them on each clip
        goal = self.embed_text(goal_prompts, normalize=False)
        baseline = self.embed_text(baseline_prompts, normalize=False) if baseline_prompts else goal
        logged = self.embed_text(self.log_prompts, normalize=False) if self.log_prompts else goal[:0]
        for name, text in (("goal", goal), ("baseline", baseline), ("log", logged)):
            self.register_buffer(f"{name}_text", text.clone())
            unit = F.normalize(text, dim=-1)  # goal, baseline: the mean of unit embeddings (D,), not renormalized
            self.register_buffer(f"{name}_emb", unit if name == "log" else unit.mean(0))
        if alpha > 0 and torch.linalg.vector_norm(self.goal_emb - self.baseline_emb) < 1e-6:
            raise UserError("the goal and baseline prompts embed to the same vector, so there is no "
                             "goal-baseline direction: reword the baseline, or use --alpha 0")
        self.weights_dtype, self.autocast_dtype = PRECISIONS[self.precision]
        self.model.to(self.weights_dtype)  # after the text: text embeddings are always fp32

    @classmethod
    def of_run(cls, args: Args, device: torch.device) -> "CLIPReward":
        return cls(args.clip_model, args.prompt, args.baseline_prompt, args.alpha, device=device,
                   precision=args.reward_precision, batch_size=args.reward_batch_size, log_prompts=args.log_prompt,
                   reward_frames=args.reward_frames, rule=args.reward_rule)

    @torch.no_grad()
    def embed_text(self, prompts, normalize: bool = True) -> torch.Tensor:
        """(P, D) unit-norm float32 text embeddings. A prompt longer than the text model takes is cut to its first
        tokens (the end-of-text token kept), as the authors' tokenizer cut it, and a note says so."""
        limit = self.model.config.text_config.max_position_embeddings
        for p in prompts:
            if (n := len(self.tokenizer(p)["input_ids"])) > limit:
                print(f"note: the prompt {p!r} is {n} tokens long and the text model takes {limit}: it is cut to its "
                      f"first {limit}, as the authors' tokenizer cut prompts", file=sys.stderr)
        padding = "max_length" if "siglip" in self.model.config.model_type else True
        tokens = self.tokenizer(list(prompts), padding=padding, truncation=True, max_length=limit,
                                return_tensors="pt").to(self.device)
        if self.video:
            check_pooled_token(tokens["input_ids"], self.tokenizer, prompts)
        embeddings = features(self.model.get_text_features(**tokens)).float()
        return F.normalize(embeddings, dim=-1) if normalize else embeddings

    def preprocess(self, frames) -> torch.Tensor:
        """uint8 (N, H, W, 3) -> normalized (N, 3, S, S) on the model's device, in the weights' dtype."""
        return preprocess_frames(frames, self.image_size, self.image_mean, self.image_std, self.device).to(self.weights_dtype)

    @torch.no_grad()
    def embed_images(self, frames) -> torch.Tensor:
        """uint8 (N, H, W, 3) numpy or torch -> (N, D) unit-norm float32, in chunks of batch_size."""
        check_frames(frames)
        chunks = [torch.zeros(0, self.goal_emb.shape[0], device=self.device)]
        for i in range(0, len(frames), self.batch_size):
            pixels = self.preprocess(frames[i:i + self.batch_size])
            with torch.autocast(self.device.type, self.autocast_dtype) if self.autocast_dtype else contextlib.nullcontext():
                chunks.append(features(self.model.get_image_features(pixel_values=pixels)).float())
        return F.normalize(torch.cat(chunks), dim=-1)

    def forward(self, frames) -> torch.Tensor:
        return self.reward(self.embed_images(frames), self.goal_emb, self.baseline_emb)

    def reward(self, x: torch.Tensor, goal: torch.Tensor, baseline: torch.Tensor) -> torch.Tensor:
        """(N,) rewards of image embeddings x (N, D) for a goal (D,) by --reward-rule. softmax: CLIP's classifier over
        the goal and each baseline prompt (its own unit embedding, not their mean), at the model's logit scale."""
        if self.rule == "projection":
            return goal_baseline_reward(x, goal, baseline, self.alpha)
        x = F.normalize(x, dim=-1)  # goal: (D,), or (N, D) for the logged prompts
        cos = torch.cat([(x * goal).sum(-1, keepdim=True), x @ F.normalize(self.baseline_text, dim=-1).T], 1)  # (N, 1 + B)
        log_p = (self.logit_scale * cos).log_softmax(-1)[:, 0]
        return log_p if self.rule == "log-softmax" else log_p.exp()

    @torch.no_grad()
    def score_frames(self, frames) -> torch.Tensor:
        """Scores (N, C) of each frame alone (--reward-frames 1), from one image embedding per frame."""
        return self.score_embeddings(self.embed_images(frames))

    def score_embeddings(self, x: torch.Tensor, goal=None, baseline=None, logged=None) -> torch.Tensor:
        """Scores (N, C) of unit image embeddings x (N, D), with the prompts' embeddings, or (a video model's, conditioned
        on each clip) goal and baseline (N, D) and logged (N, K, D). The vote is 1.0 where x's cosine similarity with
        the goal beats its similarity with every logged prompt (CLIP's classification among the sentences)."""
        goal, baseline = (self.goal_emb, self.baseline_emb) if goal is None else (goal, baseline)
        reward = self.reward(x, goal, baseline)
        if not self.log_prompts:
            return reward[:, None]
        logged = (self.log_emb if logged is None else logged).expand(len(x), -1, -1)  # (N, K, D)
        scores = torch.stack([self.reward(x, logged[:, j], baseline) for j in range(logged.shape[1])], 1)
        vote = (x * F.normalize(goal, dim=-1)).sum(-1) > torch.einsum("nd,nkd->nk", x, logged).max(1).values
        return torch.cat([reward[:, None], scores, vote[:, None].float()], 1)

    @torch.no_grad()
    def frame_features(self, frames) -> torch.Tensor:
        """The per-frame work of score_windows, done once for each frame whatever the window: its unit image embedding
        (N, D); for a video model its preprocessed pixels (N, 3, S, S), since X-CLIP's image encoder passes messages
        between a clip's frames."""
        if not self.video:
            return self.embed_images(frames)
        check_frames(frames)
        return torch.cat([self.preprocess(frames[i:i + self.batch_size]) for i in range(0, len(frames), self.batch_size)])

    @torch.no_grad()
    def score_windows(self, features: torch.Tensor, ended: np.ndarray, carried: Optional[torch.Tensor] = None) -> tuple:
        """Scores of one env's consecutive frames, each with its window (window_index): `features` (T, ...) of the frames
        (frame_features) after `carried`, its running episode's last ones; `ended` (T,) where its episodes end. An image
        model scores the mean of a window's embeddings; a video model the clip as its own forward does, each sentence's
        embedding conditioned on the clip. Returns (scores (T, C), the features to carry into the env's next call)."""
        carried = features[:0] if carried is None else carried
        table = torch.cat([carried, features])  # a copy: what is carried holds no view of the stretch's features
        index, start = window_index(len(carried), ended, self.reward_frames)
        index = torch.as_tensor(index, device=table.device)
        per = max(1, self.batch_size // self.reward_frames if self.video else len(index))
        scores = torch.cat([self.score_embeddings(*self._embed_clips(table[w])) if self.video else
                            self.score_embeddings(table[w].mean(1)) for w in index.split(per)])
        return scores, table[max(start, len(table) - self.reward_frames + 1):]

    def _embed_clips(self, clips: torch.Tensor) -> tuple:
        """X-CLIP's forward (XCLIPModel.forward) on clips (W, K, 3, S, S): the clips' unit embeddings and the prompts'
        embeddings conditioned on each clip, as score_embeddings takes them."""
        m, (w, k) = self.model, clips.shape[:2]
        with torch.autocast(self.device.type, self.autocast_dtype) if self.autocast_dtype else contextlib.nullcontext():
            out = m.vision_model(pixel_values=clips.flatten(0, 1))
            video = m.mit(m.visual_projection(out.pooler_output).view(w, k, -1)).pooler_output  # (W, D)
            img = m.prompts_visual_layernorm(out.last_hidden_state[:, 1:, :]) @ m.prompts_visual_projection
            img = img.view(w, k, -1, video.shape[-1]).mean(1)

            def conditioned(text):  # (P, D) -> (W, P, D), unit norm
                text = text.to(img.dtype).unsqueeze(0).expand(w, -1, -1)
                return F.normalize((text + m.prompts_generator(text, img)).float(), dim=-1)

            goal, baseline = conditioned(self.goal_text), conditioned(self.baseline_text)
            logged = conditioned(self.log_text) if self.log_prompts else None
        return F.normalize(video.float(), dim=-1), goal.mean(1), baseline.mean(1), logged

    def score_episode(self, frames) -> torch.Tensor:
        """Scores (T, C) of a whole episode's frames (T, H, W, 3), each with the window ending at it."""
        if self.reward_frames == 1:
            return self.score_frames(frames)
        return self.score_windows(self.frame_features(frames), np.zeros(len(frames), bool))[0]


def window_index(carried: int, ended: np.ndarray, reward_frames: int) -> tuple:
    """One env's windows of `reward_frames` (K) frames over [`carried` frames of its running episode, then the frames of
    steps with episode ends `ended`]: step t's window ends with its own frame, reaches back no further than its
    episode's first frame and repeats that frame to fill K. Returns (indices (steps, K) into that sequence, where the
    episode running at the end begins)."""
    index, start = np.empty((len(ended), reward_frames), np.int64), 0
    for t, end in enumerate(ended):
        last = carried + t
        index[t] = np.maximum(np.arange(last - reward_frames + 1, last + 1), start)
        if end:
            start = last + 1
    return index, start


# ======================================================================================
# SAC: networks, replay buffer, update
# ======================================================================================


def mlp(in_dim: int, out_dim: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, out_dim))


class SoftQNetwork(nn.Module):
    """Continuous: Q(s, a) -> (B,). Discrete: Q(s, .) -> (B, n_actions)."""
    def __init__(self, obs_dim: int, act_dim: int, discrete: bool, hidden: int):
        super().__init__()
        self.discrete = discrete
        self.net = mlp(obs_dim if discrete else obs_dim + act_dim, act_dim if discrete else 1, hidden)

    def forward(self, obs, action=None):
        return self.net(obs) if self.discrete else self.net(torch.cat([obs, action], -1)).squeeze(-1)


LOG_STD_MIN, LOG_STD_MAX = -20, 2  # SB3's clamp of the policy's log std


class PolicyOutput(NamedTuple):
    """The actor's output on a batch of states: a sample of actions; discrete: also the whole distribution."""
    action: torch.Tensor  # (B, A) in [-1, 1]; discrete: (B,)
    log_prob: torch.Tensor  # the action's log pi (B,); discrete: every action's (B, n), whose expectations are exact
    probs: Optional[torch.Tensor] = None  # discrete: (B, n)


class Actor(nn.Module):
    """Tanh-squashed Gaussian policy (continuous) or a categorical policy (discrete), as SB3 2.0's SAC (the authors'):
    actions live in [-1, 1]; make_env rescales them to the env's bounds, so the replay buffer and the critics see
    [-1, 1] too.

    With `sde_log_std_init` (--use-sde), continuous exploration is SB3's generalized state-dependent noise (gSDE):
    the net gives only the mean, and the noise is h(s) @ W, h the last hidden layer, W ~ N(0, exp(log_std)^2) of
    shape (hidden, A) with log_std learned; as in SB3's SAC the actor loss also trains h through the noise. W is
    drawn again by `resample_noise`: per env at every stretch, and once per gradient step for the whole batch (as
    SB3 does), so within a stretch each env explores with one consistent, perturbed policy. Its Gaussian has std
    sqrt(h^2 @ exp(log_std)^2) per action dimension."""
    def __init__(self, obs_dim: int, act_dim: int, discrete: bool, hidden: int, sde_log_std_init: Optional[float] = None):
        super().__init__()
        self.discrete, self.sde = discrete, sde_log_std_init is not None
        self.net = mlp(obs_dim, act_dim if discrete or self.sde else 2 * act_dim, hidden)
        if self.sde:
            self.sde_log_std = nn.Parameter(torch.full((hidden, act_dim), float(sde_log_std_init)))
            self.noise_weights = None  # (k, hidden, A): one draw per env (k = num_envs) or for a whole batch (k = 1)

    def forward(self, obs):
        if self.discrete:
            return self.net(obs)  # logits (B, n_actions)
        if self.sde:  # the mean, and the last hidden layer that the noise is a function of
            h = self.net[:-1](obs)  # (B, hidden)
            return F.hardtanh(self.net[-1](h), -2.0, 2.0), h  # SB3 clips gSDE's mean to +-2
        mean, log_std = self.net(obs).chunk(2, dim=-1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def resample_noise(self, k: int = 1):
        """gSDE: new noise weights, one (hidden, A) matrix for each of k envs (k = 1: one for any batch)."""
        std = self.sde_log_std.exp()
        self.noise_weights = std * torch.randn(k, *std.shape, device=std.device)  # rsample: differentiable in log_std

    def get_action(self, obs, deterministic: bool = False) -> PolicyOutput:
        if self.discrete:
            logits = self(obs)
            # validate_args=False: the checks would cost a GPU->CPU sync per call
            action = logits.argmax(-1) if deterministic else torch.distributions.Categorical(logits=logits, validate_args=False).sample()
            return PolicyOutput(action, F.log_softmax(logits, -1), F.softmax(logits, -1))
        if self.sde:
            mean, h = self(obs)
            log_std = 0.5 * torch.log(h.pow(2) @ self.sde_log_std.exp().pow(2) + 1e-6)  # (B, A), SB3's epsilon
            w = self.noise_weights  # (1 or B, hidden, A)
            noise = h @ w[0] if len(w) != len(h) else torch.einsum("bh,bha->ba", h, w)
            u = mean if deterministic else mean + noise
            # SB3's gSDE takes the log-prob at atanh(tanh(u)), which differs from u only where tanh saturates
            y = torch.tanh(u).clamp(-1 + torch.finfo(u.dtype).eps, 1 - torch.finfo(u.dtype).eps)
            return squash(torch.atanh(y), mean, log_std)
        mean, log_std = self(obs)
        return squash(mean if deterministic else mean + log_std.exp() * torch.randn_like(mean), mean, log_std)


def squash(u, mean, log_std) -> PolicyOutput:
    """a = tanh(u) in [-1, 1] for u ~ N(mean, std), and log pi(a) (B,): SB3's, with its epsilon. The rescaling to
    the env's bounds is not part of the log-prob, so the entropy target -|A| means the same for every action range."""
    y = torch.tanh(u)
    log_prob = torch.distributions.Normal(mean, log_std.exp(), validate_args=False).log_prob(u)  # no GPU sync
    log_prob = log_prob - torch.log(1 - y.pow(2) + 1e-6)
    return PolicyOutput(y, log_prob.sum(-1))


class ReplayBuffer:
    """A ring buffer of transitions, kept as tensors on the training device."""
    def __init__(self, size: int, obs_dim: int, act_shape: tuple, act_dtype, device):
        self.size, self.pos, self.full = size, 0, False
        self.data = {"obs": torch.zeros((size, obs_dim), device=device), "next_obs": torch.zeros((size, obs_dim), device=device),
                     "actions": torch.zeros((size, *act_shape), dtype=act_dtype, device=device),
                     "rewards": torch.zeros(size, device=device), "dones": torch.zeros(size, device=device)}

    def __len__(self):
        return self.size if self.full else self.pos

    def add(self, **batch):
        n = len(batch["rewards"])
        idx = (self.pos + torch.arange(n)) % self.size
        for k, v in batch.items():
            self.data[k][idx] = torch.as_tensor(v, device=self.data[k].device).to(self.data[k].dtype)
        self.full |= self.pos + n >= self.size
        self.pos = (self.pos + n) % self.size

    def sample(self, batch_size: int) -> dict:
        idx = torch.randint(0, len(self), (batch_size,), device=self.data["rewards"].device)
        return {k: v[idx] for k, v in self.data.items()}

    def state_dict(self):
        return {"pos": self.pos, "full": self.full, "data": {k: v[:len(self)].to("cpu", copy=True) for k, v in self.data.items()}}

    def load_state_dict(self, state):
        self.pos, self.full = state["pos"], state["full"]
        for k, v in state["data"].items():
            self.data[k][: len(v)] = v.to(self.data[k].device)


@torch.no_grad()
def soft_update(target: nn.Module, source: nn.Module, tau: float):
    """target = target + tau (source - target), all parameters in one fused call."""
    torch._foreach_lerp_(list(target.parameters()), list(source.parameters()), tau)


def critic_loss(batch, actor, qf1, qf2, qf1_target, qf2_target, ent_coef, gamma):
    """Soft Bellman error of both Q networks, 0.5 (MSE1 + MSE2) as SB3's; the target uses the smaller target Q
    (clipped double Q) and does not bootstrap through a done transition (the paper's episode end)."""
    with torch.no_grad():
        next_obs, pi = batch["next_obs"], actor.get_action(batch["next_obs"])
        if actor.discrete:  # the expectation over every next action
            next_q = torch.min(qf1_target(next_obs), qf2_target(next_obs))
            next_v = (pi.probs * (next_q - ent_coef * pi.log_prob)).sum(-1)
        else:
            next_v = torch.min(qf1_target(next_obs, pi.action), qf2_target(next_obs, pi.action)) - ent_coef * pi.log_prob
        target = batch["rewards"] + gamma * (1 - batch["dones"]) * next_v
    if actor.discrete:
        a = batch["actions"].long().unsqueeze(-1)
        q1, q2 = qf1(batch["obs"]).gather(1, a).squeeze(-1), qf2(batch["obs"]).gather(1, a).squeeze(-1)
    else:
        q1, q2 = qf1(batch["obs"], batch["actions"]), qf2(batch["obs"], batch["actions"])
    return 0.5 * (F.mse_loss(q1, target) + F.mse_loss(q2, target))


def actor_loss(obs, pi: PolicyOutput, qf1, qf2, ent_coef):
    """The policy loss E[ent_coef log pi(a|s) - min Q(s, a)] for `pi`, the actor's output on obs (a sample of
    actions and their log-probs; discrete: the whole distribution, whose expectation is exact)."""
    if pi.probs is not None:  # discrete
        with torch.no_grad():
            q = torch.min(qf1(obs), qf2(obs))
        return (pi.probs * (ent_coef * pi.log_prob - q)).sum(-1).mean()
    return (ent_coef * pi.log_prob - torch.min(qf1(obs, pi.action), qf2(obs, pi.action))).mean()


def parse_ent_coef(value: str) -> tuple:
    """--ent-coef -> (tuned?, initial value): "auto" (SB3's: tuned from 1), "auto_X" (tuned from X) or a fixed
    number; ValueError for anything else."""
    tuned = value.startswith("auto")
    return tuned, 1.0 if value == "auto" else float(value[5:] if tuned else value)


class SAC(nn.Module):
    """All learned state in one module, so a checkpoint is one state_dict."""
    def __init__(self, obs_dim, action_space, args: Args, device):
        super().__init__()
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        act_dim = int(action_space.n) if self.discrete else int(np.prod(action_space.shape))
        self.actor = Actor(obs_dim, act_dim, self.discrete, args.hidden_size,
                           sde_log_std_init=args.sde_log_std_init if args.use_sde else None)
        self.qf1, self.qf2, self.qf1_target, self.qf2_target = (
            SoftQNetwork(obs_dim, act_dim, self.discrete, args.hidden_size) for _ in range(4))
        self.qf1_target.load_state_dict(self.qf1.state_dict())
        self.qf2_target.load_state_dict(self.qf2.state_dict())
        self.autotune, initial = parse_ent_coef(args.ent_coef)
        # Target entropy: -|A| (continuous, SB3's; of the policy in [-1, 1], see `squash`);
        # 0.89 of the uniform policy's entropy (discrete, as CleanRL's discrete SAC: SB3's SAC has no discrete actions).
        self.target_entropy = 0.89 * math.log(act_dim) if self.discrete else -float(act_dim)
        self.log_ent_coef = nn.Parameter(torch.tensor([math.log(initial)]), requires_grad=self.autotune)
        self.to(device)
        # CleanRL's discrete SAC uses eps=1e-4. On CUDA each Adam step is one fused kernel instead of dozens.
        adam = functools.partial(torch.optim.Adam, eps=1e-4 if self.discrete else 1e-8, fused=torch.device(device).type == "cuda")
        self.q_optimizer = adam([*self.qf1.parameters(), *self.qf2.parameters()], lr=args.q_lr)
        self.actor_optimizer = adam(self.actor.parameters(), lr=args.policy_lr)
        self.ent_optimizer = adam([self.log_ent_coef], lr=args.policy_lr) if self.autotune else None

    def optimizers(self):
        return {"q": self.q_optimizer, "actor": self.actor_optimizer, "ent": self.ent_optimizer}

    def update(self, batch, args: Args, gradient_step: int) -> dict:
        """One gradient step in SB3's order: one sample of the policy's actions; the entropy coefficient's step;
        the critics' step; the actor's step on that sample, scored by the updated critics; the target networks.
        Critic and actor use the entropy coefficient of before its step. `gradient_step` counts the steps after
        this stretch's first. Returns loss tensors (no .item(): no GPU sync in the hot loop)."""
        if self.actor.sde:
            self.actor.resample_noise()  # gSDE: a draw for this gradient step's whole batch (SB3's reset_noise)
        ent_coef = self.log_ent_coef.exp().detach()
        pi = self.actor.get_action(batch["obs"])
        log_pi = (pi.probs * pi.log_prob).sum(-1) if self.discrete else pi.log_prob  # (B,): log pi(a|s), its mean for discrete
        out = {"entropy": -log_pi.detach().mean(), "ent_coef": ent_coef.squeeze()}
        if self.autotune:  # SB3's loss is on log(ent_coef) (used for the discrete policy too)
            ent_loss = -(self.log_ent_coef * (log_pi + self.target_entropy).detach()).mean()
            self.ent_optimizer.zero_grad()
            ent_loss.backward()
            self.ent_optimizer.step()
            out["ent_coef_loss"] = ent_loss.detach()

        qf_loss = critic_loss(batch, self.actor, self.qf1, self.qf2, self.qf1_target, self.qf2_target, ent_coef, args.gamma)
        self.q_optimizer.zero_grad()
        qf_loss.backward()
        self.q_optimizer.step()

        pi_loss = actor_loss(batch["obs"], pi, self.qf1, self.qf2, ent_coef)
        self.actor_optimizer.zero_grad()
        pi_loss.backward()
        self.actor_optimizer.step()
        out.update(qf_loss=qf_loss.detach(), actor_loss=pi_loss.detach())

        if gradient_step % args.target_network_frequency == 0:
            soft_update(self.qf1_target, self.qf1, args.tau)
            soft_update(self.qf2_target, self.qf2, args.tau)
        return out

    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        obs = torch.as_tensor(obs, dtype=torch.float32, device=self.log_ent_coef.device)
        return self.actor.get_action(obs, deterministic).action.cpu().numpy()


# ======================================================================================
# Training loop
# ======================================================================================


def train(args: Args):
    args, ckpt = args_of_run(args)  # a resumed run's own args, and its checkpoint
    device = resolve_device(args.device)
    n = args.num_envs
    render_envs = n if uses_clip(args) else int(args.video_interval > 0)  # without CLIP, env 0 renders for videos
    check_writable(run_folder(args))
    check_resources(args, device, slots=args.train_frequency, render_envs=render_envs)
    # loaded before the run directory is made: a model that cannot load leaves no run behind
    reward_model = CLIPReward.of_run(args, device) if uses_clip(args) else None

    with contextlib.ExitStack() as cleanup:  # however the run ends, its workers are stopped and its files closed
        run_dir = open_run_directory(args, ckpt, cleanup)
        seed_everything(args)
        envs = cleanup.enter_context(make_env_pool(args, slots=args.train_frequency, render_envs=render_envs))
        obs_dim, action_space = int(np.prod(envs.single_observation_space.shape)), envs.single_action_space
        agent = SAC(obs_dim, action_space, args, device)
        buffer = ReplayBuffer(args.buffer_size, obs_dim, () if agent.discrete else action_space.shape,
                              torch.long if agent.discrete else torch.float32, device)
        progress = Progress.new(args) if ckpt is None else resume(ckpt, agent, buffer, args)
        learner = Learner(agent, args)
        tracker = cleanup.enter_context(Tracker(args, run_dir, resumed_at=progress.global_step if ckpt else None))
        metrics = cleanup.enter_context(MetricsLog(run_dir / "metrics.csv", progress.metrics_rows if ckpt else None, tracker,
                                                   args.log_prompt, step=progress.global_step))
        episodes = EpisodeLog(metrics, n, train_on_clip=args.reward == "clip", log_prompts=args.log_prompt)
        video = VideoRecorder(run_dir / "videos", args, tracker)
        scorer = cleanup.enter_context(StretchScorer(reward_model, envs.frames, args.reward_batch_size, device)) if reward_model else None
        stop = stop_on_signals()
        bar = cleanup.enter_context(tqdm(total=args.total_timesteps, initial=progress.global_step, unit="step",
                                         dynamic_ncols=True, smoothing=0.1))
        checkpoints = Checkpoints(run_dir / "checkpoints", args, agent, buffer, progress, episodes, learner, metrics, video,
                                  scorer)
        checkpoints.restore_loop(ckpt)

        # each env at the start of its episode; after a resume, replayed to where the checkpoint stopped
        seeds = {i: episode_seed(args.seed, i, int(e)) for i, e in enumerate(progress.episodes)}
        obs = envs.reset(seeds, episodes.running_actions())
        while progress.global_step < args.total_timesteps and not stop:
            first = progress.global_step  # of the stretch
            steps = min(args.train_frequency, math.ceil((args.total_timesteps - first) / n))
            video.arm(first, progress)
            if args.use_sde:  # gSDE: each env explores the stretch with one draw of the noise weights
                agent.actor.resample_noise(n)
            if reward_model is None:  # only env 0 renders, and only while a video is recorded
                envs.set_rendering([video.active] + [False] * (n - 1))

            # --- 1. collect a stretch; CLIP scores its frames on a side thread meanwhile
            stretch = Stretch.empty(steps, n, obs_dim, action_space)
            for t in range(steps):
                if first + t * n < args.learning_starts:
                    actions = random_actions(action_space, n)
                else:
                    actions = agent.act(obs)
                next_obs, env_rewards, terminated, truncated, success, _ = envs.step(actions, slot=t)
                if scorer:
                    scorer.rendered(t, last=t == steps - 1)
                ended = stretch.add(t, obs, actions, next_obs, env_rewards, terminated, truncated, success)
                obs = next_obs
                if ended.any():  # autoreset is off: reset the finished envs, each with its own episode seed
                    progress.episodes[ended] += 1
                    obs[ended] = envs.reset({i: episode_seed(args.seed, i, int(progress.episodes[i])) for i in np.flatnonzero(ended)})

            # --- 2. its CLIP rewards, into the buffer. Scores (steps, n, C): the CLIP reward, the --log-prompt scores
            scores = scorer.score_stretch(stretch.ended) if scorer else np.full((steps, n, 1), np.nan, np.float32)  # NaN: no CLIP
            clip_rewards = scores[..., 0]  # (steps, n)
            rewards = clip_rewards + args.reward_offset if args.reward == "clip" else stretch.env_rewards
            buffer.add(**stretch.transitions(rewards))

            # --- 3. a metrics row per finished episode, and env 0's video, in step order
            progress.returns_window.extend(episodes.record(stretch, scores, first))
            shown = clip_rewards if args.reward == "clip" else stretch.env_rewards  # as logged: CLIP's without the offset
            video.record(envs.frames, shown[:, 0], stretch.ended[:, 0], first, n)
            progress.global_step += steps * n
            bar.update(steps * n)
            if stretch.ended.any():
                bar.set_postfix(episodes.summary(), refresh=False)

            # --- 4. gradient steps
            # SB3's test; after a resume without the buffer, also until the policy has refilled it as far
            if progress.global_step > args.learning_starts and len(buffer) >= transitions_to_train(args):
                learner.update(buffer)
                progress.gradient_step += args.gradient_steps
                checkpoints.stop_if_diverged()

            # --- 5. log (a stop adds no row: a resumed run has the straight run's rows), checkpoints
            log_stretch(progress, args, metrics, tracker, learner, episodes)
            checkpoints.save_due()

        checkpoints.save("latest.pt", with_buffer=args.save_buffer)
    if stop:  # the shell's convention for a process stopped by a signal: 128 + its number (130 Ctrl-C, 143 SIGTERM)
        print(f"stopped at step {progress.global_step:,}; continue with: python vlmrm_sac.py --resume {run_dir / 'checkpoints' / 'latest.pt'}")
        raise SystemExit(128 + stop[0])
    print(f"done: {progress.global_step:,} steps; metrics in {run_dir / 'metrics.csv'}")
    return run_dir


# ======================================================================================
# Evaluation: the paper's protocol (people label the frames of each episode)
# ======================================================================================


def evaluate(args: Args):
    """Runs --eval-episodes episodes of a checkpoint's policy and writes, under runs/<run>/eval_<step>/:
    eval.csv (per episode: CLIP return, ground-truth return, success; the --log-prompt columns of metrics.csv;
    Humanoid: the share of its steps in each of POSES), videos/episode_XXX.mp4, frames/episode_XXX.npz (every frame,
    uint8 (T, H, W, 3), its CLIP reward `clip_rewards`; MuJoCo envs: the state of each frame, `qpos` and `qvel`; with
    logged prompts also `log_rewards` (T, K) and `goal_votes` (T,)) and labels.csv to fill in."""
    ckpt = load_checkpoint(args.eval_checkpoint)
    saved = ckpt["args"]
    run_args = Args(**{**saved, "num_envs": min(saved["num_envs"], args.eval_episodes), "device": args.device,
                       "num_workers": args.num_workers, "clip_model": choose_clip_model(args.clip_model, saved["clip_model"]),
                       "look_dir": args.look_dir or saved["look_dir"],
                       "log_prompt": args.log_prompt or saved["log_prompt"]})  # --log-prompt given: these instead
    device, n = resolve_device(run_args.device), run_args.num_envs
    run_dir = Path(args.eval_checkpoint).resolve().parent.parent
    check_writable(run_dir)
    check_resources(run_args, device, slots=1, render_envs=n, replay=False)
    torch.manual_seed(args.seed)
    reward_model = CLIPReward.of_run(run_args, device) if uses_clip(run_args) else None
    if reward_model is None and run_args.log_prompt:
        raise UserError("--log-prompt scores frames with the CLIP model, which this run does not use (--no-log-clip-reward)")
    with contextlib.ExitStack() as cleanup:  # however it ends, the workers are stopped
        envs = cleanup.enter_context(make_env_pool(run_args, slots=1, render_envs=n))
        agent = SAC(int(np.prod(envs.single_observation_space.shape)), envs.single_action_space, run_args, device)
        restore_agent(agent, ckpt, args.eval_checkpoint)
        # A new folder for every evaluation: an old labels.csv must never pair with new episodes
        out_dir = new_directory(run_dir / f"eval_{ckpt['state']['global_step']:09d}")
        (out_dir / "frames").mkdir()
        print(f"evaluating {args.eval_checkpoint} for {args.eval_episodes} episodes -> {out_dir}")
        episodes = np.zeros(n, dtype=int)
        eval_seed = lambda i, e: episode_seed(args.seed, 1_000_000 + i, e)  # never a training episode's seed  # noqa: E731
        obs = envs.reset({i: eval_seed(i, 0) for i in range(n)})
        if agent.actor.sde:  # gSDE: a draw of the noise weights per env, again after every episode end
            agent.actor.resample_noise(n)
        running = [[] for _ in range(n)]  # each env's episode so far: (frame, env reward, MuJoCo state) per step
        poses = HumanoidPoses() if env_family(run_args.env_id) == "Humanoid" else None
        rows, kept = [], []  # kept: each episode's qpos, qvel, CLIP rewards, for states.npz
        bar = cleanup.enter_context(tqdm(total=args.eval_episodes, unit="episode"))
        while len(rows) < args.eval_episodes:
            actions = agent.act(obs, deterministic=args.deterministic)
            obs, env_rewards, terminated, truncated, success, states = envs.step(actions)
            ended = terminated | truncated
            for i in range(n):
                running[i].append((host_copy(envs.frames[0, i]), float(env_rewards[i]), states[i]))
                if ended[i] and len(rows) < args.eval_episodes:
                    k = len(rows)
                    # frames (T, H, W, 3), env rewards (T,), states (T, nq + nv): the MuJoCo state of each frame
                    frames, episode_rewards, episode_states = map(np.stack, zip(*running[i]))
                    scores = reward_model.score_episode(frames).cpu().numpy() if reward_model else np.full((len(frames), 1), np.nan)
                    clip = scores[:, 0]  # (T,) CLIP rewards; then (--log-prompt) each logged prompt's and the votes
                    logged = {"log_rewards": scores[:, 1:-1], "goal_votes": scores[:, -1]} if run_args.log_prompt else {}
                    if poses:  # saved, so that the episode can be labelled again by any labeller
                        logged.update(qpos=episode_states[:, :poses.model.nq], qvel=episode_states[:, poses.model.nq:])
                        kept.append((logged["qpos"], logged["qvel"], clip))
                    with writing(eval_episode_file(out_dir, k)):
                        np.savez_compressed(eval_episode_file(out_dir, k), frames=frames, clip_rewards=clip, **logged)
                    shares = poses.shares(logged["qpos"]) if poses else {}
                    shown = clip if reward_model else episode_rewards
                    write_video(eval_episode_file(out_dir, k, "videos"), frames, shown,
                                "CLIP reward" if reward_model else "env reward")
                    rows.append({"episode": k, "clip_return": float(np.sum(clip)), "env_return": float(sum(episode_rewards)),
                                 "success": "" if np.isnan(success[i]) else int(success[i]), "length": len(frames),
                                 **prompt_scores(run_args.log_prompt, scores.sum(0), len(frames)), **shares})
                    bar.update(1)
                if ended[i]:
                    running[i] = []
            if ended.any():
                episodes[ended] += 1
                obs[ended] = envs.reset({i: eval_seed(i, int(episodes[i])) for i in np.flatnonzero(ended)})
                if agent.actor.sde:
                    agent.actor.resample_noise(n)
    with writing(out_dir / "eval.csv"), open(out_dir / "eval.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["episode", "clip_return", "env_return", "success", "length",
                                    *prompt_columns(run_args.log_prompt), *[f"{p}_share" for p in POSES if poses]])
        writer.writeheader()
        writer.writerows(rows)
    if poses and len({len(k[0]) for k in kept}) == 1:  # (episodes, steps, ...) arrays, no frames: kept with the results
        with writing(out_dir / "states.npz"):
            np.savez_compressed(out_dir / "states.npz", **{name: np.stack(a).astype(np.float32) for name, a in
                                                           zip(("qpos", "qvel", "clip_rewards"), zip(*kept))})
    elif poses:
        print("note: no states.npz (episodes of different lengths); each episode's states are in frames/")
    labels = out_dir / LABELS_CSV  # the paper's protocol: the percent of each episode's steps that show the goal
    with writing(labels):
        labels.write_text("episode,goal_share\n" + "".join(f"{r['episode']},\n" for r in rows))
    print(f"wrote {out_dir / 'eval.csv'}; label the episodes in {labels} (goal_share: 0, 25, 50, 75 or 100)")
    return out_dir


# ======================================================================================
# Entry point
# ======================================================================================


def main(args: Args):
    """A mistake in the input or a failed run ends with one line on stderr and exit status 1; an aborted run (a second
    Ctrl-C) with 130. A run stopped by Ctrl-C or SIGTERM saves, then exits with 130 or 143 (train)."""
    try:
        check_args(args)
        if args.convert_checkpoint:
            return convert_checkpoint(args.convert_checkpoint)
        return evaluate(args) if args.eval_checkpoint else train(args)
    except (UserError, RunFailed) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    except (Aborted, KeyboardInterrupt) as e:
        print(f"{e or 'aborted'}", file=sys.stderr)
        raise SystemExit(130) from None


# ======================================================================================
# Appendix A: the loop's parts. What train() calls: its state (Progress), a stretch of transitions, the
# episode rows, CLIP scoring on a side thread, the gradient steps, videos, metrics and the live
# view, checkpoints and resume. They assume the method above and change nothing it computes.
# ======================================================================================


LABELS_CSV = "labels.csv"  # an evaluation's episodes for people to label, goal_share in percent; plot.py reads it


def eval_episode_file(eval_dir, k: int, kind: str = "frames") -> Path:
    """An evaluation's episode k: frames/episode_XXX.npz (read by plot.py) or videos/episode_XXX.mp4."""
    return Path(eval_dir) / kind / f"episode_{k:03d}.{'npz' if kind == 'frames' else 'mp4'}"


def new_directory(base: Path) -> Path:
    """base, or base_2, base_3, ... if taken: mkdir is atomic, so two processes never get the same directory."""
    for k in range(1, sys.maxsize):
        path = base.with_name(f"{base.name}_{k}" if k > 1 else base.name)
        with contextlib.suppress(FileExistsError):
            path.mkdir(parents=True)
            return path


def host_copy(frame) -> np.ndarray:
    """A copy in host memory of a frame of the pool's buffer (numpy, or a tensor with --renderer warp)."""
    return frame.cpu().numpy().copy() if torch.is_tensor(frame) else frame.copy()


@dataclass
class Progress:
    """The loop's counters, saved in every checkpoint so that a resumed run carries on exactly. The loop changes them;
    the periodic events (a log row, a video, a checkpoint) ask `due`, which moves their next step on."""
    episodes: np.ndarray  # (num_envs,) episodes begun by each env: the count seeds each reset
    returns_window: collections.deque  # training returns of the last --best-window episodes, for best.pt
    global_step: int = 0
    gradient_step: int = 0
    metrics_rows: int = 0  # rows of metrics.csv that the checkpoint knows (set in the copy Checkpoints.save saves)
    next_log: int = 0  # the global steps at which the next log row, video and checkpoint are due
    next_video: int = 0
    next_checkpoint: int = 0
    best_return: float = -math.inf  # best.pt's mean training return
    video_pending: bool = False  # a video was due (armed or recording) when the checkpoint was saved

    @classmethod
    def new(cls, args: Args) -> "Progress":
        return cls(episodes=np.zeros(args.num_envs, dtype=int), returns_window=collections.deque(maxlen=args.best_window),
                   next_log=args.log_interval, next_checkpoint=args.checkpoint_interval)

    def state_dict(self) -> dict:
        return {**asdict(self), "episodes": self.episodes.tolist(), "returns_window": list(self.returns_window)}

    def due(self, event: str, interval: int, step: int) -> bool:
        """Whether the periodic `event` (next_<event>: log, video, checkpoint) is due at `step`; if so, it is due next
        at the first step of its grid (due + k * interval) after `step`. interval 0: never."""
        due = getattr(self, f"next_{event}")
        if interval and step >= due:
            setattr(self, f"next_{event}", due + interval * (1 + (step - due) // interval))
        return bool(interval) and step >= due


@dataclass
class Stretch:
    """A stretch of vector steps: arrays (steps, num_envs, ...) in step order."""
    obs: np.ndarray
    actions: np.ndarray
    next_obs: np.ndarray
    env_rewards: np.ndarray
    terminated: np.ndarray  # the episode's last step (the paper's fixed length): no bootstrapping
    ended: np.ndarray  # terminated or truncated
    success: np.ndarray  # NaN where the env has no success rule

    @classmethod
    def empty(cls, steps: int, n: int, obs_dim: int, action_space) -> "Stretch":
        discrete = isinstance(action_space, gym.spaces.Discrete)
        return cls(obs=np.zeros((steps, n, obs_dim), np.float32),
                   actions=np.zeros((steps, n, *(() if discrete else action_space.shape)), np.int64 if discrete else np.float32),
                   next_obs=np.zeros((steps, n, obs_dim), np.float32), env_rewards=np.zeros((steps, n), np.float32),
                   terminated=np.zeros((steps, n), bool), ended=np.zeros((steps, n), bool), success=np.full((steps, n), np.nan))

    def add(self, t: int, obs, actions, next_obs, env_rewards, terminated, truncated, success) -> np.ndarray:
        """Stores vector step t; returns which envs ended there."""
        n = len(actions)
        self.obs[t], self.actions[t], self.next_obs[t] = obs.reshape(n, -1), actions, next_obs.reshape(n, -1)
        self.env_rewards[t], self.terminated[t], self.success[t] = env_rewards, terminated, success
        self.ended[t] = terminated | truncated
        return self.ended[t]

    def transitions(self, rewards: np.ndarray) -> dict:
        """The stretch as flat transitions for the replay buffer, with `rewards` (steps, n). Truncation is not
        terminal; the paper's episode end is."""
        flat = lambda a: a.reshape(-1, *a.shape[2:])  # noqa: E731  (steps, n, ...) -> (steps * n, ...)
        return {"obs": flat(self.obs), "next_obs": flat(self.next_obs), "actions": flat(self.actions),
                "rewards": flat(rewards), "dones": flat(self.terminated)}


class EpisodeLog:
    """Each env's running episode: its returns, length and actions so far; a metrics row for every finished episode;
    the training returns of the last --best-window episodes (for best.pt) and of the latest episodes (for the progress
    bar). Its state goes into checkpoints: a run resumed mid-episode replays the episode's actions (EnvGroup.reset)
    and carries on with its returns, as the straight run would."""
    def __init__(self, metrics: "MetricsLog", n: int, train_on_clip: bool, log_prompts=()):
        self.metrics, self.train_on_clip, self.log_prompts = metrics, train_on_clip, log_prompts
        # sums of the scores' columns (CLIPReward): the CLIP return, each logged prompt's, the goal's votes
        self.scores = np.zeros((n, 1 + (len(log_prompts) + 1 if log_prompts else 0)))
        self.env, self.length = np.zeros(n), np.zeros(n, dtype=int)
        self.actions = [[] for _ in range(n)]  # each env's actions since its reset
        self.recent = collections.deque(maxlen=max(n, 10))  # (clip, env, success) of the last episodes, for the bar
        self.sps = None  # of the last log row, for the bar

    def record(self, stretch: Stretch, scores: np.ndarray, first_step: int) -> list:
        """A stretch's steps in order, with their CLIP scores (steps, n, C) (NaN where CLIP is not computed). Returns
        the training returns of the episodes that ended, in order (for best.pt)."""
        n, returns = self.env.shape[0], []
        for t in range(len(stretch.ended)):
            self.scores += scores[t]
            self.env += stretch.env_rewards[t]
            self.length += 1
            for i in range(n):
                self.actions[i].append(stretch.actions[t, i])
            for i in np.flatnonzero(stretch.ended[t]):
                success, clip = stretch.success[t, i], float(self.scores[i, 0])
                self.metrics.write({"global_step": first_step + (t + 1) * n, "kind": "episode", "env": i,
                                    "clip_return": clip, "env_return": float(self.env[i]),
                                    "success": success if np.isnan(success) else int(success),
                                    "episode_length": int(self.length[i]),
                                    **prompt_scores(self.log_prompts, self.scores[i], self.length[i])})
                self.recent.append((clip, self.env[i], success))
                returns.append(clip if self.train_on_clip else float(self.env[i]))
                self.scores[i], self.env[i], self.length[i], self.actions[i] = 0.0, 0.0, 0, []
        return returns

    def running_actions(self) -> dict:
        """{env: actions (T, ...)} of the episodes under way, to replay after a resume."""
        return {i: np.stack(a) for i, a in enumerate(self.actions) if a}

    def state_dict(self) -> dict:
        return {"scores": self.scores, "env": self.env, "length": self.length, "actions": self.running_actions()}

    def load_state_dict(self, state: dict):
        array = lambda x: torch.as_tensor(x).numpy().copy()  # noqa: E731 (a checkpoint holds tensors, a live one arrays)
        self.scores, self.env, self.length = (array(state[k]) for k in ("scores", "env", "length"))
        self.actions = [list(array(state["actions"][i])) if i in state["actions"] else [] for i in range(len(self.env))]

    def summary(self) -> dict:
        """The progress bar's view: mean returns (and success) of the last max(num_envs, 10) episodes, steps/s."""
        clip, env, success = np.array(self.recent, dtype=float).T
        summary = {} if np.isnan(clip).all() else {"clip": f"{clip.mean():.3f}"}
        summary["env"] = f"{env.mean():.1f}"
        if not np.isnan(success).all():
            summary["success"] = f"{np.nanmean(success):.0%}"
        if self.sps is not None:
            summary["sps"] = self.sps
        return summary


class VideoRecorder:
    """Every --video-interval steps, records env 0's next whole episode, with the reward under each frame (the
    model's own CLIP reward, as in metrics.csv, or the env's), and those rewards beside it in step_*.rewards.txt."""
    def __init__(self, folder: Path, args: Args, tracker: Optional["Tracker"] = None):
        self.folder, self.interval, self.tracker = folder, args.video_interval, tracker
        self.label = "CLIP reward" if args.reward == "clip" else "env reward"
        self.state = "idle"  # idle -> armed (waiting for env 0's next episode) -> recording -> idle
        self.env0_fresh = True  # env 0 is at the start of an episode
        self.frames, self.rewards = [], []

    active = property(lambda self: self.state != "idle")  # a video is due: armed or recording

    def arm(self, start: int, progress: Progress):
        """At the start of a stretch: every --video-interval steps, env 0's next episode is due."""
        if self.state == "idle" and progress.due("video", self.interval, start):
            self.state = "armed"

    def record(self, frames: Optional[np.ndarray], rewards: np.ndarray, ended: np.ndarray, first_step: int, n: int):
        """A stretch: the frame buffer (slots, render_envs, H, W, 3), env 0's rewards and episode ends (steps,)."""
        for t in range(len(ended)):
            if self.state == "armed" and self.env0_fresh:
                self.state = "recording"
            if self.state == "recording":
                self.frames.append(host_copy(frames[t, 0]))  # its slot is rendered into again next stretch
                self.rewards.append(rewards[t])
            self.env0_fresh = bool(ended[t])
            if self.state == "recording" and ended[t]:
                step = first_step + (t + 1) * n
                path = self.folder / f"step_{step:09d}.mp4"
                last_frame = write_video(path, np.stack(self.frames), np.array(self.rewards), self.label)
                with writing(path.with_suffix(".rewards.txt")):
                    np.savetxt(path.with_suffix(".rewards.txt"), self.rewards, fmt="%.6f", header=self.label)
                if self.tracker is not None:
                    self.tracker.video(step, path, last_frame)
                self.state, self.frames, self.rewards = "idle", [], []


class StretchScorer(contextlib.AbstractContextManager):
    """CLIP scores a stretch's frames in batches of --reward-batch-size on a side thread while the envs keep
    stepping: the scores are first needed when the stretch goes into the buffer. It reads the frames where the
    envs rendered them; on CUDA, CLIP runs on its own stream, so its batches never queue in front of the policy's
    actions.

    With --reward-frames K > 1 the side thread does each frame's own work (CLIPReward.frame_features) and the
    windows are scored (CLIPReward.score_windows) once the stretch is in, when its episode ends are known; each env's
    last K - 1 frames' features of its running episode carry over to the next stretch (and into checkpoints)."""
    def __init__(self, reward_model: CLIPReward, frames: np.ndarray, batch_size: int, device: torch.device):
        self.reward_model, self.frames, self.batch_size = reward_model, frames, batch_size  # frames: (slots, n, H, W, 3)
        self.reward_frames, self.carry = reward_model.reward_frames, [None] * frames.shape[1]  # carry: per env
        self.thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="clip")
        self.stream = torch.cuda.Stream(device) if device.type == "cuda" else None
        self.pending, self.submitted = [], 0  # futures of the batches, in step order; steps submitted so far

    def rendered(self, t: int, last: bool):
        """Step t's frames are rendered: submit the unsubmitted ones once they fill a batch, or at the stretch's end."""
        if (t + 1 - self.submitted) * self.frames.shape[1] >= self.batch_size or last:
            batch = self.frames[self.submitted:t + 1].reshape(-1, *self.frames.shape[2:])  # a view, no copy
            self.pending.append(self.thread.submit(self._per_frame, batch))
            self.submitted = t + 1

    def _per_frame(self, batch) -> torch.Tensor:
        """A batch's scores (K = 1), or its frames' features for the windows (K > 1)."""
        with torch.cuda.stream(self.stream):  # None (a CPU): no stream
            out = self.reward_model.score_frames(batch).cpu() if self.reward_frames == 1 else self.reward_model.frame_features(batch)
        if self.stream is not None:  # K > 1: the features are read on the loop's stream
            self.stream.synchronize()
        return out

    def score_stretch(self, ended: np.ndarray) -> np.ndarray:
        """(steps, n, C) float32 scores of the stretch (CLIPReward: column 0 the CLIP reward), once all its batches
        are done; `ended` (steps, n): where episodes ended, which the windows of K > 1 frames never cross."""
        steps, n = self.submitted, self.frames.shape[1]
        results, self.pending, self.submitted = [f.result() for f in self.pending], [], 0
        if self.reward_frames == 1:
            return torch.cat(results).view(steps, n, -1).numpy()
        features = torch.cat(results).view(steps, n, *results[0].shape[1:])
        scores = []
        for i in range(n):
            env_scores, self.carry[i] = self.reward_model.score_windows(features[:, i], ended[:, i], self.carry[i])
            scores.append(env_scores.cpu())
        return torch.stack(scores, 1).numpy()

    def state_dict(self) -> dict:
        return {"carry": [None if c is None else c.cpu() for c in self.carry]}

    def load_state_dict(self, state: dict):
        self.carry = [None if c is None else c.to(self.reward_model.device) for c in state["carry"]]

    def __exit__(self, error_type, *_):
        self.thread.shutdown(wait=error_type is None, cancel_futures=True)


class Learner:
    """The gradient steps after each stretch, and the means of their losses for the log rows."""
    def __init__(self, agent: SAC, args: Args):
        self.agent, self.args = agent, args
        self.sums, self.counts, self.nonfinite = {}, {}, False  # sums: losses of the stretches since the last log row

    def update(self, buffer: ReplayBuffer):
        """The gradient steps of a stretch; their losses are added to the sums."""
        try:
            for step in range(self.args.gradient_steps):  # counted from the stretch's first, as SB3's train()
                for k, v in self.agent.update(buffer.sample(self.args.batch_size), self.args, step).items():
                    self.sums[k], self.counts[k] = self.sums.get(k, 0.0) + v, self.counts.get(k, 0) + 1
        except RuntimeError:  # e.g. a categorical policy cannot sample from the non-finite logits of a diverged net
            if self.finite():
                raise
        # one sync per stretch: the losses, and the networks (a step can make them non-finite from finite losses)
        self.nonfinite = not self.finite(*self.sums.values())

    def finite(self, *losses) -> bool:
        weights = [p.detach().sum() for p in self.agent.parameters()]  # a non-finite number makes its sum so
        return bool(torch.isfinite(torch.stack([*losses, *weights])).all())

    def losses(self) -> dict:
        """The mean of each loss since the last call, over the gradient steps that made it."""
        means, self.sums, self.counts = self.running_means(), {}, {}
        return means

    def running_means(self) -> dict:
        """The mean of each loss since the last call of losses(), so far (the live view's points between log rows)."""
        return {k: float(v) / self.counts[k] for k, v in self.sums.items()}

    def state_dict(self) -> dict:
        """The losses summed since the last log row, so that a resumed run's next row averages what a straight one's would."""
        return {"sums": {k: float(v) for k, v in self.sums.items()}, "counts": dict(self.counts)}

    def load_state_dict(self, state: dict):
        self.sums, self.counts = dict(state["sums"]), dict(state["counts"])


def stop_on_signals() -> list:
    """Ctrl-C / SIGTERM: the loop finishes its stretch, saves and stops (the list is no longer empty). A second
    signal aborts at once, without saving; later ones are ignored while the workers are stopped."""
    stop = []

    def request_stop(signum, frame):
        if stop:
            for s in (signal.SIGINT, signal.SIGTERM):
                signal.signal(s, signal.SIG_IGN)
            raise KeyboardInterrupt
        stop.append(signum)
        tqdm.write(f"{signal.Signals(signum).name}: finishing this stretch, then saving a checkpoint "
                   "(Ctrl-C again aborts without saving)")

    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, request_stop)
    return stop


# --- runs on disk: directory, seeding, metrics.csv, checkpoints, videos ---

METRIC_COLUMNS = ["global_step", "kind", "env", "clip_return", "env_return", "success", "episode_length",
                  "qf_loss", "actor_loss", "entropy", "ent_coef", "ent_coef_loss", "sps"]


def prompt_columns(log_prompts) -> list:
    """The columns of the --log-prompt scores, after METRIC_COLUMNS (in metrics.csv and eval.csv)."""
    return [f"clip_return[{p}]" for p in log_prompts] + ["goal_vote_share"] if log_prompts else []


def prompt_scores(log_prompts, sums: np.ndarray, length: int) -> dict:
    """An episode's prompt columns from its sums of CLIPReward's score columns (CLIP reward, logged prompts', votes)."""
    if not log_prompts:
        return {}
    return {**{f"clip_return[{p}]": float(sums[1 + k]) for k, p in enumerate(log_prompts)},
            "goal_vote_share": float(sums[-1]) / length}


CHECKPOINT_FORMAT = "vlmrm_sac/6"  # changed whenever a checkpoint's contents change meaning
# The types of format 5's NumPy arrays, which only convert_checkpoint lets weights_only build
FORMAT_5_NUMPY = [np._core.multiarray._reconstruct, np.ndarray, np.dtype, *(type(np.dtype(t)) for t in ("f4", "f8", "i8", "u4"))]


def run_folder(args: Args) -> Path:
    """The folder a run writes into: the resumed run's own, or --run-dir for a new one."""
    return Path(args.resume).resolve().parent.parent if args.resume else Path(args.run_dir)  # runs/<run>/checkpoints/x.pt


def open_run_directory(args: Args, ckpt: Optional[dict], cleanup: contextlib.ExitStack) -> Path:
    """A new run's directory runs/{env}__{exp}__{seed}__{time}/ with args.json, or the resumed run's. The directory is
    locked while the run lasts (a second run or resume of it is refused), and a failure from here on ends with one
    line that names the last checkpoint."""
    if ckpt is not None:
        run_dir = run_folder(args)
        print(f"resuming {run_dir} at step {ckpt['state']['global_step']:,} with the run's saved args")
    else:
        # a run started in the same second with the same name and seed gets a _2 (new_directory)
        run_dir = new_directory(Path(args.run_dir) / f"{args.env_id}__{args.exp_name}__{args.seed}__{int(time.time())}")
    cleanup.enter_context(locked(run_dir))
    cleanup.enter_context(explained_failures(run_dir))
    for stale in (run_dir / "checkpoints").glob(".tmp_*"):  # left by a run killed while it wrote one
        stale.unlink()
    # a resumed run's args.json is its own, unless its model moved or its total differs from the file's (a larger
    # total, or an earlier checkpoint resumed after one): the file always says the steps the run trains to
    saved = json.loads((run_dir / "args.json").read_text()) if (run_dir / "args.json").exists() else {}
    if ckpt is None or any(getattr(args, k) != saved.get(k) for k in ("clip_model", "total_timesteps")):
        with writing(run_dir / "args.json"):
            (run_dir / "args.json").write_text(json.dumps(asdict(args), indent=2))
    print(f"run directory: {run_dir}")
    return run_dir


@contextlib.contextmanager
def locked(run_dir: Path):
    """An exclusive lock on the run directory while the run lasts; the system releases it however the process ends."""
    import fcntl
    with open(run_dir / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"{run_dir} is in use by another process (a run or a resume of it): wait for it to end, "
                            "or stop it first") from None
        yield


@contextlib.contextmanager
def explained_failures(run_dir: Path):
    """A run that fails or is aborted ends with one line that says where its last checkpoint is; a failure's
    details (a worker's traceback) go to error.log in the run directory."""
    latest = run_dir / "checkpoints" / "latest.pt"
    try:
        yield
    except RunFailed as e:
        message = str(e)
        if e.details:
            with contextlib.suppress(OSError):
                (run_dir / "error.log").write_text(e.details)
                message += f" (details in {run_dir / 'error.log'})"
        if e.resumable:
            message += (f"; continue from the last checkpoint with: python vlmrm_sac.py --resume {latest}"
                        if latest.exists() else "; no checkpoint was saved before it")
        raise RunFailed(message) from None
    except KeyboardInterrupt:
        raise Aborted("aborted without saving" + (f"; the last checkpoint is {latest}" if latest.exists() else "")) from None


@contextlib.contextmanager
def writing(path: Path):
    """A write that fails (a full disk, a quota, a read-only mount) ends the run with one line that says where."""
    try:
        yield
    except OSError as e:
        raise RunFailed(f"could not write {path}: {e.strerror or e} ({free_space(path)} free there)") from None


def free_space(path: Path) -> str:
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return fmt_bytes(shutil.disk_usage(path).free)
    except OSError:
        return "unknown space"


def fmt_bytes(n: float) -> str:
    return f"{n / 2**30:,.1f} GB" if n >= 2**30 else f"{n / 2**20:,.1f} MB"


def seed_everything(args: Args):
    """Seeding, in one place (every episode is also reset with its own seed: episode_seed)."""
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = args.torch_deterministic


class MetricsLog(contextlib.AbstractContextManager):
    """metrics.csv: one row per finished episode (kind=episode) and per logging interval (kind=train).
    On resume the file is cut back to the rows the checkpoint knew, so no row is lost or repeated."""
    def __init__(self, path: Path, keep_rows: Optional[int] = None, tracker: Optional["Tracker"] = None, log_prompts=(),
                 step: int = 0):
        self.path, self.tracker = path, tracker
        self.clock = (time.perf_counter(), step)  # when, and at which global step, steps/s were last counted
        with writing(path):
            if keep_rows is not None and path.exists():  # the header and the rows the checkpoint knew
                path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[: keep_rows + 1]))
            new = not path.exists()
            self.file = open(path, "a", newline="")
            self.writer = csv.DictWriter(self.file, METRIC_COLUMNS + prompt_columns(log_prompts), extrasaction="ignore")
            if new:
                self.writer.writeheader()
        self.rows = keep_rows or 0

    def write(self, row: dict):
        """A row to metrics.csv and, with the same values, to the live view (TRACKED names its columns there)."""
        row = {k: v for k, v in row.items() if v is not None and not (isinstance(v, float) and math.isnan(v))}
        with writing(self.path):
            self.writer.writerow(row)
        self.rows += 1
        if self.tracker is not None:
            self.tracker.log(row["global_step"], {live_name(k): float(v) for k, v in row.items() if live_name(k)})

    def steps_per_second(self, step: int) -> float:
        """Env steps/s since the last call (the first: since the log was opened)."""
        (then, since), self.clock = self.clock, (time.perf_counter(), step)
        return round((step - since) / max(self.clock[0] - then, 1e-9), 2)

    def flush(self):
        with writing(self.path):
            self.file.flush()
        if self.tracker is not None:
            self.tracker.flush()

    def __exit__(self, *_):
        with contextlib.suppress(OSError):  # after a failed write, what is left in the buffer is lost
            self.file.close()


TRACKED = {  # metrics.csv column -> its name in TensorBoard and W&B (CleanRL's, where CleanRL has the quantity)
    "env_return": "charts/episodic_return", "clip_return": "charts/episodic_clip_return",
    "episode_length": "charts/episodic_length", "success": "charts/success", "sps": "charts/SPS",
    "qf_loss": "losses/qf_loss", "actor_loss": "losses/actor_loss", "entropy": "losses/entropy",
    "ent_coef": "losses/ent_coef", "ent_coef_loss": "losses/ent_coef_loss",  # SAC's temperature: --alpha is the paper's
}


def live_name(column: str) -> Optional[str]:
    """A metrics.csv column's name in the live view (None: not shown there); --log-prompt columns go under prompts/."""
    return TRACKED.get(column) or (f"prompts/{column}" if column.startswith("clip_return[") or column == "goal_vote_share"
                                   else None)


class Tracker(contextlib.AbstractContextManager):
    """The live view of a run: TensorBoard event files in the run directory (unless --no-tensorboard) and, with
    --track, a Weights & Biases run named after the directory. Both get each metrics.csv row's values at its global
    step (MetricsLog.write), the losses between rows, and a frame of each video (W&B: the video).

    A resumed run's event files hide the steps after its checkpoint (purge_step), so that no step appears twice. W&B's
    history cannot be cut: the run continues the same W&B run (its id is kept in the run's wandb.json) and skips the
    steps that W&B already has (the last one sent is written there after every stretch)."""
    def __init__(self, args: Args, run_dir: Path, resumed_at: Optional[int]):
        self.writer = self.wandb = None
        self.wandb_state, self.skip_until = run_dir / "wandb.json", -1
        if args.tensorboard:
            from torch.utils.tensorboard import SummaryWriter
            # Each session marks its start (purge_step); TensorBoard takes a later start at step S as a restart and
            # hides the earlier session's events from S on, logged after the checkpoint that the run resumed from
            self.writer = SummaryWriter(str(run_dir), flush_secs=30, purge_step=0 if resumed_at is None else resumed_at + 1)
            # It writes on a thread of its own, which raises a failure (a full disk) again at this thread's next
            # call to it, in `writing` (one line); the thread's own traceback is not printed
            threading.excepthook = lambda e: type(e.thread).__name__ == "_AsyncWriterThread" or threading.__excepthook__(e)
            self.events = run_dir / "events.out.tfevents.*"
            if resumed_at is None:
                self.writer.add_text("args", "| flag | value |\n|---|---|\n" +
                                     "\n".join(f"| --{k.replace('_', '-')} | {v} |" for k, v in asdict(args).items()))
        if args.track:
            import wandb
            state = json.loads(self.wandb_state.read_text()) if self.wandb_state.exists() else {"id": uuid.uuid4().hex[:12]}
            self.skip_until = self.last_sent = state.get("last_step", -1)
            self.wandb = wandb.init(project=args.wandb_project_name, entity=args.wandb_entity, name=run_dir.name,
                                    id=state["id"], resume="allow", config=asdict(args), dir=str(run_dir), save_code=True)
            self.wandb.define_metric("global_step")
            self.wandb.define_metric("*", step_metric="global_step")
            self.flush()

    def log(self, step: int, values: dict):
        """{name: value} at global step `step` (one W&B history row)."""
        if not values:
            return
        if self.writer is not None:
            with writing(self.events):
                for name, value in values.items():  # stored in double precision, exactly metrics.csv's value
                    self.writer.add_scalar(name, value, step, new_style=True, double_precision=True)
        if self.wandb is not None and step > self.skip_until:
            self.wandb.log({**values, "global_step": step})
            self.last_sent = max(self.last_sent, step)

    def video(self, step: int, path: Path, frame: np.ndarray):
        """A recorded episode: its last frame, with the reward curve drawn under it, and (W&B) the video itself."""
        if self.writer is not None:
            with writing(self.events):
                self.writer.add_image("videos/last_frame", frame, step, dataformats="HWC")
        if self.wandb is not None and step > self.skip_until:
            import wandb
            self.wandb.log({"videos/episode": wandb.Video(str(path), format="mp4"), "global_step": step})

    def end_stretch(self):
        """W&B: the last step sent, so that a run resumed after a crash does not send it again."""
        if self.wandb is not None:
            with writing(self.wandb_state):
                atomic_write(self.wandb_state, json.dumps({"id": self.wandb.id, "last_step": self.last_sent}).encode())

    def flush(self):
        if self.writer is not None:
            with writing(self.events):
                self.writer.flush()
        self.end_stretch()

    def __exit__(self, error_type, *_):
        if self.writer is not None:
            with contextlib.suppress(OSError) if error_type else writing(self.events):  # the run's own error first
                self.writer.close()
        if self.wandb is not None:
            self.end_stretch()
            self.wandb.finish(exit_code=1 if error_type else 0)


def resolve_device(name: str) -> torch.device:
    return torch.device(("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name)


def random_actions(action_space, n: int) -> np.ndarray:
    """Uniform random actions from torch's RNG (not the spaces' own), so the checkpoint's RNG state covers them."""
    if isinstance(action_space, gym.spaces.Discrete):
        return torch.randint(0, int(action_space.n), (n,)).numpy()
    low, high = torch.as_tensor(action_space.low), torch.as_tensor(action_space.high)
    return (low + (high - low) * torch.rand(n, *action_space.shape)).numpy().astype(action_space.dtype)


def as_data(x):
    """x with each NumPy array a tensor: what torch.load(weights_only=True) reads without building other objects."""
    if isinstance(x, (dict, list, tuple)):
        return {k: as_data(v) for k, v in x.items()} if isinstance(x, dict) else type(x)(map(as_data, x))
    return torch.from_numpy(x) if isinstance(x, np.ndarray) else x


def save_checkpoint(path: Path, ckpt: dict):
    """ckpt as data, written whole or not at all (atomic_write)."""
    with writing(path):
        try:
            atomic_write(path, lambda tmp: torch.save(as_data(ckpt), tmp))
        except RuntimeError as e:  # torch reports a failed write (a full disk) as a RuntimeError
            raise OSError(str(e).splitlines()[0]) from None


def load_checkpoint(path: str, formats: tuple = (CHECKPOINT_FORMAT,)) -> dict:
    if not os.path.isfile(path):
        raise UserError(f"no checkpoint file at {path!r} (checkpoints live in runs/<run>/checkpoints/)")
    try:  # as data: a pickle that would build other objects than tensors, numbers, text, lists, dicts is refused
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UserError(unreadable(path, e)) from None
    if not isinstance(ckpt, dict) or not str(ckpt.get("format", "")).startswith("vlmrm_sac/"):
        raise UserError(f"{path!r} is not a vlmrm_sac checkpoint (expected format {formats[-1]})")
    if ckpt["format"] not in formats:
        raise UserError(f"{path!r} was written by another version of vlmrm_sac.py (format {ckpt['format']}; this one "
                        f"reads {', '.join(formats)}): evaluate or resume it with the version that wrote it")
    return ckpt


def unreadable(path: str, error: Exception) -> str:
    """Why torch.load(weights_only=True) refused a file, from the objects its pickle names (read, never built)."""
    try:
        objects = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception as e:  # no zip of torch.save's
        objects, error = set(), e
    if objects and objects <= {f"{o.__module__}.{o.__name__}" for o in FORMAT_5_NUMPY}:
        return f"{path!r} was written by an older vlmrm_sac.py: convert it once with python vlmrm_sac.py --convert-checkpoint {path}"
    if objects:
        return f"{path!r} is refused unread: it would build {', '.join(sorted(objects))}, which can run code; a checkpoint holds data only"
    return (f"checkpoint {path!r} cannot be read: it is corrupt or cut short ({type(error).__name__}: "
            f"{str(error).splitlines()[0]}). Use an earlier checkpoint of the run.")


def convert_checkpoint(path: str):
    """--convert-checkpoint: a checkpoint of format 5 rewritten in place, tensors for its NumPy arrays. It is read with
    weights_only too, allowing FORMAT_5_NUMPY only: arrays of those dtypes (never of objects), filled from bytes, run no code."""
    with torch.serialization.safe_globals(FORMAT_5_NUMPY):
        ckpt = load_checkpoint(path, formats=("vlmrm_sac/5", CHECKPOINT_FORMAT))
    save_checkpoint(Path(path), {**ckpt, "format": CHECKPOINT_FORMAT})
    print(f"{path} is now a checkpoint of format {CHECKPOINT_FORMAT}")


def restore_agent(agent: SAC, ckpt: dict, path: str):
    try:
        agent.load_state_dict(ckpt["agent"])
        for k, opt in agent.optimizers().items():
            if opt is not None:
                opt.load_state_dict(ckpt["optimizers"][k])
    except (RuntimeError, KeyError, ValueError) as e:
        raise UserError(f"checkpoint {path!r} does not match the networks of its own args (edited or from another "
                        f"version?): {str(e).splitlines()[0]}") from None


def args_of_run(args: Args) -> tuple:
    """(args, checkpoint or None) of the run to train: a resumed run keeps its own args, but --clip-model and
    --look-dir may say where its files are now."""
    ckpt = load_checkpoint(args.resume) if args.resume else None
    if ckpt is None:
        return replace(args, clip_model=choose_clip_model(args.clip_model), total_timesteps=args.total_timesteps or 10_000_000), None
    total, done = args.total_timesteps or ckpt["args"]["total_timesteps"], ckpt["state"]["global_step"]
    if total <= done:
        raise UserError(f"{args.resume} is at step {done:,} of its {ckpt['args']['total_timesteps']:,}: to continue it, "
                        f"give a larger --total-timesteps")
    return Args(**{**ckpt["args"], "resume": args.resume, "look_dir": args.look_dir or ckpt["args"]["look_dir"],
                   "clip_model": choose_clip_model(args.clip_model, ckpt["args"]["clip_model"]), "total_timesteps": total}), ckpt


def log_stretch(progress: Progress, args: Args, metrics: "MetricsLog", tracker: "Tracker", learner: "Learner",
                episodes: EpisodeLog):
    """After a stretch: a training row (losses, steps/s) every --log-interval steps and at the end; after the others,
    the live view gets the losses' mean since the last row."""
    if progress.due("log", args.log_interval, progress.global_step) or progress.global_step >= args.total_timesteps:
        episodes.sps = metrics.steps_per_second(progress.global_step)
        metrics.write({"global_step": progress.global_step, "kind": "train", **learner.losses(), "sps": episodes.sps})
        metrics.flush()
    else:
        tracker.log(progress.global_step, {TRACKED[k]: v for k, v in learner.running_means().items()})
    tracker.end_stretch()


class Checkpoints:
    """A run's checkpoints/: step_*.pt every --checkpoint-interval steps; among them best.pt, which the paper
    evaluates (the authors' rule: the best mean training return over the last --best-window episodes); latest.pt
    with each, at the end and at a stop (with the replay buffer if --save-buffer); nonfinite.pt if the losses diverge."""
    def __init__(self, folder: Path, args: Args, agent: SAC, buffer: ReplayBuffer, progress: Progress,
                 episodes: EpisodeLog, learner: "Learner", metrics: "MetricsLog", video: VideoRecorder,
                 scorer: Optional[StretchScorer]):
        self.folder, self.args, self.agent, self.buffer, self.progress = folder, args, agent, buffer, progress
        self.episodes, self.learner, self.metrics, self.video, self.scorer = episodes, learner, metrics, video, scorer

    def save(self, name: str, with_buffer: bool = False) -> Path:
        self.metrics.flush()
        saved = replace(self.progress, metrics_rows=self.metrics.rows, video_pending=self.video.active)
        save_checkpoint(self.folder / name, {
            "format": CHECKPOINT_FORMAT, "args": asdict(self.args), "state": saved.state_dict(),
            "episodes": self.episodes.state_dict(), "learner": self.learner.state_dict(), "agent": self.agent.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.agent.optimizers().items() if o is not None},
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
            "buffer": self.buffer.state_dict() if with_buffer else None,
            "scorer": self.scorer.state_dict() if self.scorer is not None else None})  # the StretchScorer's windows
        return self.folder / name

    def stop_if_diverged(self):
        """Non-finite losses or networks end the run, saving their state in nonfinite.pt for inspection."""
        if self.learner.nonfinite:
            saved = self.save("nonfinite.pt")
            raise RunFailed(f"the losses became non-finite at step {self.progress.global_step:,} (the state is saved in "
                            f"{saved} for inspection): start again with lower learning rates (--q-lr, --policy-lr) or a "
                            "fixed --ent-coef", resumable=False)

    def save_due(self):
        progress, args = self.progress, self.args
        # the next one is due first, so that a run resumed from any of these checkpoints keeps their grid
        if not progress.due("checkpoint", args.checkpoint_interval, progress.global_step):
            return
        self.save(f"step_{progress.global_step:09d}.pt")
        window = progress.returns_window
        if progress.global_step > args.learning_starts and window and np.mean(window) > progress.best_return:
            progress.best_return = float(np.mean(window))
            self.save("best.pt")
        self.save("latest.pt", with_buffer=args.save_buffer)

    def restore_loop(self, ckpt: Optional[dict]):
        """The loop's parts where the checkpoint, if any, left them (resume() restored the agent, buffer, counters)."""
        if ckpt is None:
            return
        self.episodes.load_state_dict(ckpt["episodes"])
        self.learner.load_state_dict(ckpt["learner"])
        if self.scorer is not None:  # the frames of K > 1 windows under way; format 6 files may name them "labeller"
            self.scorer.load_state_dict(ckpt["scorer"] if "scorer" in ckpt else ckpt["labeller"])
        self.video.state = "armed" if self.progress.video_pending else "idle"  # the video that was due at the stop
        self.video.env0_fresh = self.episodes.length[0] == 0


def resume(ckpt: dict, agent: SAC, buffer: ReplayBuffer, args: Args) -> Progress:
    """A run where the checkpoint left it: networks, optimizers, RNG states, replay buffer, counters."""
    restore_agent(agent, ckpt, args.resume)
    state = ckpt["state"]
    progress = Progress(**{**state, "episodes": np.array(state["episodes"]),
                           "returns_window": collections.deque(state["returns_window"], maxlen=args.best_window)})
    torch.set_rng_state(ckpt["rng"]["torch"])
    np.random.set_state(ckpt["rng"]["numpy"])
    random.setstate(ckpt["rng"]["python"])
    if ckpt["rng"]["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])
    if ckpt["buffer"] is not None:
        buffer.load_state_dict(ckpt["buffer"])
    elif progress.global_step > 0:
        print(f"note: this checkpoint has no replay buffer (--save-buffer): gradient steps wait until it holds "
              f"{transitions_to_train(args):,} transitions again")
    return progress


def transitions_to_train(args: Args) -> int:
    """The replay buffer's fill from which gradient steps are taken: more than --learning-starts (SB3's test on the
    steps, which a straight run's buffer holds), or all of a smaller buffer."""
    return min(args.learning_starts + 1, args.buffer_size)


def write_video(path: Path, frames: np.ndarray, rewards: np.ndarray, label: str, fps: int = 30) -> np.ndarray:
    """mp4 of frames (T, H, W, 3) uint8 with the reward under each frame: its value and the curve so far. Returns the
    last of them, with the whole episode's curve."""
    import imageio.v3
    from PIL import Image, ImageDraw
    T, H, W, _ = frames.shape
    strip = max(40, H // 6) // 2 * 2
    lo, hi = float(np.min(rewards)), float(np.max(rewards))
    xs = np.linspace(4, W - 4, max(T, 2))
    ys = strip - 4 - (np.asarray(rewards) - lo) / ((hi - lo) or 1.0) * (strip - 20)
    out = []
    for t in range(T):
        canvas = Image.new("RGB", (W, H + strip))
        canvas.paste(Image.fromarray(frames[t]), (0, 0))
        draw = ImageDraw.Draw(canvas)
        if t > 0:
            draw.line([(xs[i], H + ys[i]) for i in range(t + 1)], fill=(80, 200, 255), width=2)
        draw.text((4, H + 2), f"{label} {rewards[t]:+.4f}  (episode range {lo:+.4f} .. {hi:+.4f})", fill=(255, 255, 255))
        out.append(np.asarray(canvas))
    # encoded in memory, then written at once: ffmpeg itself would leave a broken file on a full disk, and say nothing
    data = imageio.v3.imwrite("<bytes>", np.stack(out), extension=".mp4", fps=fps, macro_block_size=2)
    with writing(path):
        atomic_write(path, data)
    return out[-1]


def atomic_write(path, data):
    """Writes `data` (bytes, or a function that writes the file it is given) via a temporary file of its own and a
    rename, into its folder (made if missing): a reader never sees half a file, and a failed write leaves none."""
    tmp = Path(path).with_name(f".tmp_{uuid.uuid4().hex}{Path(path).suffix}")  # torch.save needs a name before the suffix
    try:
        tmp.parent.mkdir(parents=True, exist_ok=True)
        if callable(data):
            data(tmp)
        else:
            tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ======================================================================================
# Appendix B: input checks and faults. Mistakes in the flags and runs that cannot fit are refused here, before
# any model loads or run folder exists, each with one line; they assume nothing but Args.
# ======================================================================================


class UserError(ValueError):
    """A mistake in the user's input: printed as one line that says what to do, without a traceback."""


class RunFailed(RuntimeError):
    """A run that cannot go on (a worker died, the disk is full, the losses diverged): printed as one line, after
    every worker is stopped; `details` (e.g. a worker's traceback) go to the run's error.log, and a `resumable`
    failure's line says how to continue from the last checkpoint."""
    def __init__(self, message: str, details: str = "", resumable: bool = True):
        super().__init__(message)
        self.details, self.resumable = details, resumable


class Aborted(Exception):
    """A second Ctrl-C: the run stops at once without saving (exit status 130)."""


def check_prompts(goal_prompts, baseline_prompts, alpha: float, log_prompts=(), warn: bool = True, rule: str = "projection"):
    """Errors a user can cause with the reward flags, found before any model is loaded."""
    if not goal_prompts:
        raise UserError("no goal prompt: pass one with --prompt \"a humanoid robot kneeling\"")
    for p in (*goal_prompts, *baseline_prompts, *log_prompts):
        if not isinstance(p, str) or not p.strip():
            raise UserError(f"empty prompt {p!r}: every --prompt, --baseline-prompt and --log-prompt needs some words")
    if not 0.0 <= alpha <= 1.0:
        raise UserError(f"alpha must be in [0, 1] (the goal-baseline regularization strength), got {alpha}")
    if alpha > 0 and not baseline_prompts:
        raise UserError(f"alpha = {alpha} projects onto the goal-baseline direction: also pass --baseline-prompt")
    if rule != "projection" and (alpha > 0 or not baseline_prompts or set(goal_prompts) & set(baseline_prompts)):
        raise UserError(f"--reward-rule {rule} classifies each frame among the goal and the --baseline-prompt sentences: "
                        "give at least one baseline that is not a goal prompt, and --alpha 0")
    if alpha > 0 and set(goal_prompts) == set(baseline_prompts):
        raise UserError("goal and baseline prompts are the same, so there is no goal-baseline direction: "
                         "use a baseline that describes the scene without the goal, or --alpha 0")
    for k, p in enumerate(log_prompts):
        if p in log_prompts[:k]:
            raise UserError(f"--log-prompt {p!r} is given twice: log each sentence once")
        if p in goal_prompts:
            raise UserError(f"--log-prompt {p!r} is a goal prompt, whose return is logged anyway: log other sentences")
        if alpha > 0 and {p} == set(baseline_prompts):
            raise UserError(f"--log-prompt {p!r} is the baseline prompt: with alpha > 0 it has no direction to be "
                            "scored along; log other sentences")
    if warn and baseline_prompts and alpha == 0 and rule == "projection":
        print("warning: --baseline-prompt has no effect with --alpha 0 (the reward is the cosine similarity with the goal)",
              file=sys.stderr)


def load_pretrained(loader, name: str, **kwargs):
    """`loader.from_pretrained(name)` with an error that says what to do when it fails."""
    try:
        return loader.from_pretrained(name, **kwargs)
    except (OSError, ValueError) as e:
        if os.path.isdir(name):
            hint = f"the directory {name!r} exists but holds no loadable model (was it saved with save_pretrained?)"
        elif name.startswith((".", "/", "~")) or os.sep in name.strip("/").replace("/", "", 1):
            hint = f"there is no local directory {name!r}"
        elif os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0") or os.environ.get("TRANSFORMERS_OFFLINE", "0") not in ("", "0"):
            hint = ("you are offline (HF_HUB_OFFLINE) and it is not in the local Hugging Face cache: download it "
                    "once on a machine with network, or pass a local directory saved with save_pretrained (e.g. "
                    "results/mini_clip/cartpole_tiny, README's demo)")
        else:
            hint = ("it is not on the Hugging Face hub or the hub cannot be reached: check the id for typos "
                    "(the paper's is laion/CLIP-ViT-bigG-14-laion2B-39B-b160k), or pass a local directory (offline, "
                    "--clip-model results/mini_clip/cartpole_tiny runs README's demo)")
        raise UserError(f"could not load {name!r}: {hint}. ({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None


def check_pooled_token(input_ids, tokenizer, prompts):
    """transformers' X-CLIP embeds a sentence at its token of the highest id, which must be its end, <|endoftext|>
    (the highest id of CLIP's vocabulary): with another vocabulary the words after that token would not count."""
    for prompt, token in zip(prompts, input_ids.gather(1, input_ids.argmax(-1, keepdim=True))[:, 0].tolist()):
        if token != tokenizer.eos_token_id:
            raise UserError(f"this X-CLIP's tokenizer gives {tokenizer.convert_ids_to_tokens(token)!r} a higher id than "
                            f"its end token, and transformers' X-CLIP embeds a sentence at its highest id: {prompt!r} would "
                            "end there. Use a tokenizer whose <|endoftext|> has the highest id, as CLIP's")


def check_frames(frames):
    if frames.dtype not in (np.uint8, torch.uint8) or frames.ndim != 4 or frames.shape[-1] != 3:
        raise UserError(f"frames must be uint8 RGB images of shape (N, H, W, 3); got {tuple(frames.shape)} {frames.dtype}")


def check_args(args: Args):
    """Mistakes in the flags, caught before any model is loaded or env is started."""
    check_device(args.device)
    if args.eval_checkpoint or args.resume or args.convert_checkpoint:  # load_checkpoint, the first thing each does, checks the file
        if args.resume and args.total_timesteps is not None and args.total_timesteps < 1:
            raise UserError(f"--total-timesteps must be positive, got {args.total_timesteps}")
        if args.eval_checkpoint and args.eval_episodes < 1:
            raise UserError("--eval-episodes must be at least 1")
        return  # the run's own args were checked when it started
    if args.env_id not in gym.registry:
        close = difflib.get_close_matches(args.env_id, list(gym.registry), n=3)
        raise UserError(f"unknown env id {args.env_id!r}" + (f"; did you mean {', '.join(close)}?" if close else
                        "; see gymnasium.pprint_registry() for the list"))
    for names, ok, must in ((("num_envs", "total_timesteps", "buffer_size", "batch_size", "train_frequency", "render_size",
                              "target_network_frequency", "reward_batch_size", "hidden_size", "best_window", "policy_lr",
                              "q_lr", "episode_length"), lambda v: v is None or v > 0, "be positive"),
                            (("learning_starts", "gradient_steps", "num_workers", "log_interval", "video_interval",
                              "checkpoint_interval"), lambda v: (v or 0) >= 0, "be >= 0")):
        for name in names:
            if not ok(value := getattr(args, name)):
                raise UserError(f"--{name.replace('_', '-')} must {must}, got {value}")
    if args.reward_frames < 1 or args.reward_frames > (episode_length_for(args) or args.reward_frames):
        raise UserError(f"--reward-frames must be between 1 and the episode length ({episode_length_for(args)}), "
                        f"got {args.reward_frames}")
    if args.time_feature and not episode_length_for(args):
        raise UserError(f"--time-feature needs a fixed episode length: give --episode-length for {args.env_id}")
    if args.renderer == "warp" and env_family(args.env_id) != "Humanoid":
        raise UserError(f"--renderer warp draws the Humanoid envs (the paper's MuJoCo task), not {args.env_id}: use --renderer egl")
    if args.renderer == "warp" and importlib.util.find_spec("mujoco_warp") is None:
        raise UserError("--renderer warp needs MuJoCo Warp: pip install mujoco-warp (or use --renderer egl)")
    if not 0 <= args.gamma <= 1 or not 0 < args.tau <= 1:
        raise UserError(f"--gamma must be in [0, 1] and --tau in (0, 1]; got gamma={args.gamma}, tau={args.tau}")
    if args.batch_size > args.buffer_size:
        raise UserError(f"--batch-size {args.batch_size} is larger than --buffer-size {args.buffer_size}")
    try:
        ok = parse_ent_coef(args.ent_coef)[1] > 0
    except ValueError:
        ok = False
    if not ok:
        raise UserError(f"--ent-coef must be 'auto', 'auto_X' or a number, X and the number positive; got {args.ent_coef!r}")
    if uses_clip(args):
        check_prompts(args.prompt, args.baseline_prompt, args.alpha, args.log_prompt, warn=False, rule=args.reward_rule)
    elif args.log_prompt:
        raise UserError("--log-prompt scores frames with the CLIP model, which --no-log-clip-reward switches off")
    probe = gym.make(args.env_id)
    try:
        if (uses_clip(args) or args.video_interval) and "rgb_array" not in probe.metadata.get("render_modes", []):
            raise UserError(f"{args.env_id} cannot render rgb_array frames, which the CLIP reward and videos need: "
                            "use --reward env --no-log-clip-reward --video-interval 0, or another env")
        if not isinstance(probe.action_space, (gym.spaces.Box, gym.spaces.Discrete)):
            raise UserError(f"{args.env_id} has a {type(probe.action_space).__name__} action space; SAC here needs Box or Discrete")
        if args.use_sde and not isinstance(probe.action_space, gym.spaces.Box):
            raise UserError("--use-sde (state-dependent exploration noise) needs continuous actions; drop it for discrete SAC")
        if not isinstance(probe.observation_space, gym.spaces.Box):
            raise UserError(f"{args.env_id} observes a {type(probe.observation_space).__name__}; the policy needs a state vector (Box)")
    finally:
        probe.close()


def check_device(name: str):
    try:
        device = resolve_device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise UserError(f"--device {name}: use auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available (install a CUDA build of torch, or use --device cpu)")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise UserError(f"--device {name}: this machine has {torch.cuda.device_count()} GPU(s), cuda:0 to "
                        f"cuda:{torch.cuda.device_count() - 1}")


def uses_clip(args: Args) -> bool:
    """The CLIP reward is computed: to train on, or only to log (--reward env keeps --log-clip-reward on by default)."""
    return args.reward == "clip" or args.log_clip_reward


def choose_clip_model(given: Optional[str], saved: Optional[str] = None) -> str:
    """The CLIP model of a run: --clip-model if given, else the resumed or evaluated run's own, else the paper's. A
    local directory is kept as an absolute path, so that the run can be resumed or evaluated from any folder."""
    if given is None:
        return saved or PAPER_CLIP_MODEL
    chosen = os.path.abspath(given) if os.path.isdir(given) else given
    if saved is not None and chosen != saved:
        print(f"note: the run's CLIP model {saved} is replaced by --clip-model {chosen}")
    return chosen


def check_writable(folder: Path):
    """The folder a run writes into (or the nearest one that exists) takes a file, checked before any model loads."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise UserError(f"cannot write into {folder} ({existing}: {e.strerror or e}): choose another folder with "
                        "--run-dir") from None


def check_resources(args: Args, device: torch.device, slots: int, render_envs: int, replay: bool = True):
    """Refuses a run whose buffers cannot fit, before anything is allocated or written: the shared frame buffer
    (slots x render_envs x H x W x 3 bytes, in /dev/shm or, if it does not fit there, a file in the temp folder),
    MuJoCo's offscreen buffers (about 56 bytes per pixel per rendering env, measured with CPU rendering) and the
    replay buffer (on --device). With --renderer warp the frames are on --device and the shared buffer holds qpos."""
    if render_envs and args.look == "paper" and env_family(args.env_id) in LOOK_FAMILIES:
        authors_images(args.look_dir)  # the paper look's image files: downloaded by the first run, or refused here
    probe = gym.make(args.env_id)
    obs_dim = int(np.prod(probe.observation_space.shape)) + args.time_feature
    space = probe.action_space
    probe.close()
    action_bytes = 8 if isinstance(space, gym.spaces.Discrete) else 4 * int(np.prod(space.shape))
    replay_bytes = args.buffer_size * (2 * 4 * obs_dim + action_bytes + 4 + 4) if replay else 0  # obs, next obs, a, r, done
    shape = frame_shape(args) if render_envs else (0, 0, 0)
    frame_bytes = slots * render_envs * int(np.prod(shape))
    warp = args.renderer == "warp"
    gl_bytes = render_envs * args.render_size ** 2 * 56 if is_mujoco(args.env_id) and not warp else 0
    on_gpu = {"the replay buffer": replay_bytes if device.type == "cuda" else 0,
              "the frames": frame_bytes if warp and device.type == "cuda" else 0}
    needs = {f"the frame buffer (--train-frequency {slots} x --num-envs {render_envs} x {shape[0]}x{shape[1]}x3 bytes, "
             "--render-size for MuJoCo)": 0 if on_gpu["the frames"] else frame_bytes,
             f"MuJoCo's offscreen buffers ({render_envs} envs x --render-size {args.render_size} squared)": gl_bytes,
             f"the replay buffer (--buffer-size {args.buffer_size:,} transitions of {obs_dim} numbers)":
                 replay_bytes if device.type != "cuda" else 0}
    with open("/proc/meminfo") as f:  # MemAvailable: what a new allocation gets without swapping
        available = int(next(line for line in f if line.startswith("MemAvailable:")).split()[1]) * 1024
    if sum(needs.values()) > available:
        parts = ", ".join(f"{what} {fmt_bytes(n)}" for what, n in sorted(needs.items(), key=lambda kv: -kv[1]) if n)
        raise UserError(f"this run needs {fmt_bytes(sum(needs.values()))} of memory and {fmt_bytes(available)} is "
                        f"available: {parts}; lower the flags named")
    shm_free = shutil.disk_usage("/dev/shm").free if os.path.isdir("/dev/shm") else 0
    if frame_bytes > shm_free and not warp:
        tmp_free = shutil.disk_usage(tempfile.gettempdir()).free
        if frame_bytes > tmp_free:
            raise UserError(f"the frame buffer needs {fmt_bytes(frame_bytes)} ({slots} steps per stretch x {render_envs} "
                            f"envs x {shape[0]}x{shape[1]}x3 bytes), more than /dev/shm ({fmt_bytes(shm_free)} free) or "
                            f"{tempfile.gettempdir()} ({fmt_bytes(tmp_free)} free) hold: lower --train-frequency, --num-envs "
                            "or --render-size")
        print(f"note: the frame buffer ({fmt_bytes(frame_bytes)}) does not fit /dev/shm ({fmt_bytes(shm_free)} free), so "
              f"it is kept in a file in {tempfile.gettempdir()}")
    if sum(on_gpu.values()):
        free = torch.cuda.mem_get_info(device)[0]
        if sum(on_gpu.values()) > free:
            parts = ", ".join(f"{what} {fmt_bytes(n)}" for what, n in on_gpu.items() if n)
            raise UserError(f"this run needs {fmt_bytes(sum(on_gpu.values()))} on {device} ({parts}) and {fmt_bytes(free)} "
                            "is free there: lower --buffer-size, or --train-frequency, --num-envs or --render-size")


# ======================================================================================
# Appendix C: the env pool. Workers step and render the envs into shared memory
# ======================================================================================


def frame_shape(args: Args) -> tuple:
    """(H, W, 3) of the env's frames: --render-size for MuJoCo, else what a probe renders (classic control: 400 x 600)."""
    if is_mujoco(args.env_id):
        return (args.render_size, args.render_size, 3)
    probe = make_env(args.env_id, look=args.look, look_dir=args.look_dir)
    probe.reset(seed=0)
    shape = probe.render().shape
    probe.close()
    return shape


class EnvGroup:
    """Envs `first, first + 1, ...` of a pool, stepped one after another by one process. After each step an
    env renders the state it reached straight into its slot of the `shared` buffer (the last step of an
    episode included: the authors' code stored the next episode's first frame there), or, for --renderer
    warp (`write_qpos`), writes the qpos it reached there for the batch renderer."""
    def __init__(self, envs: list, first: int, shared: Optional[np.ndarray], write_qpos: bool = False):
        self.envs, self.first, self.shared, self.write_qpos = envs, first, shared, write_qpos
        self.set_rendering([True] * len(envs))

    def set_rendering(self, flags):
        """Only the first shared.shape[1] envs of the pool have a slot to render into."""
        self.rendering = [bool(f) and self.shared is not None and self.first + k < self.shared.shape[1]
                          for k, f in enumerate(flags)]

    def step(self, actions, slot: int):
        """Per env: obs, reward, terminated, truncated, success (NaN where the env has none), and the MuJoCo state
        reached, qpos then qvel (empty for other envs)."""
        rows = []
        for k, (env, action) in enumerate(zip(self.envs, actions)):
            obs, reward, terminated, truncated, info = env.step(action)
            if self.rendering[k]:  # (a frame: one copy, which also undoes MuJoCo's flipped view)
                self.shared[slot, self.first + k] = env.unwrapped.data.qpos if self.write_qpos else render(env)
            data = getattr(env.unwrapped, "data", None)
            rows.append((obs, reward, terminated, truncated, float(info["success"]) if "success" in info else math.nan,
                         np.concatenate([data.qpos, data.qvel]) if data is not None else np.zeros(0)))
        return [np.array(column) for column in zip(*rows)]

    def reset(self, seeds: dict, actions: Optional[dict] = None) -> list:
        """Resets each env whose pool index is in `seeds` with its seed, then steps it through actions[i], if any,
        without rendering: the envs are deterministic, so this brings back where a checkpoint stopped mid-episode.
        Returns their observations."""
        observations = []
        for i, seed in sorted(seeds.items()):
            env = self.envs[i - self.first]
            obs = env.reset(seed=seed)[0]
            for action in (actions or {}).get(i, ()):
                obs = env.step(action)[0]
            observations.append(obs)
        return observations

    def spaces(self):
        return self.envs[0].observation_space, self.envs[0].action_space

    def close(self):
        for env in self.envs:
            env.close()


def env_worker(conn, env_kwargs: dict, first: int, count: int, buffer, shape, write_qpos: bool):
    """A worker process: builds envs first .. first + count - 1, then runs the pool's commands until "close". It
    exits quietly when the trainer is gone (its end of the pipe closes)."""
    # Ctrl-C and SIGTERM are handled by the trainer, which finishes its stretch and saves: workers ignore
    # them so they are still there to finish it. The trainer stops them (and kills them if it must).
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_IGN)
    shared = None if buffer is None else np.frombuffer(buffer, np.float64 if write_qpos else np.uint8).reshape(shape)
    group = None
    try:
        group = EnvGroup([make_env(**env_kwargs) for _ in range(count)], first, shared, write_qpos)
        conn.send(("ok", group.spaces()))
        while (message := conn.recv())[0] != "close":
            command, data = message
            conn.send(("ok", getattr(group, command)(*data)))
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the trainer is gone
    except Exception:
        with contextlib.suppress(OSError):
            conn.send(("error", traceback.format_exc()))
    finally:
        if group is not None:
            with contextlib.suppress(Exception):
                group.close()


class EnvPool(contextlib.AbstractContextManager):
    """`num_envs` envs, built by make_env(**env_kwargs), stepped by `num_workers` processes (0: all in this
    process), each a contiguous block of them.

    Frames never go through a pipe: the envs render into `frames`, a (slots, render_envs, H, W, 3) uint8
    buffer in memory shared with the workers, env i of step t into `frames[t, i]`, and the trainer reads
    views of it. With a `renderer` (WarpRenderer), the workers write the qpos they reached into the shared
    buffer instead, and step() draws them into `frames`, then a tensor on the renderer's device. Only the first
    `render_envs` envs render. Autoreset is off: the trainer resets finished envs itself, so every step is a
    real transition.
    """
    def __init__(self, env_kwargs: dict, num_envs: int, num_workers: int, frame_shape=None, slots: int = 1,
                 render_envs: int = 0, renderer: Optional["WarpRenderer"] = None):
        self.num_envs, self.frames, self.shared, buffer = num_envs, None, None, None
        self.renderer, self.rendering = renderer, bool(render_envs)
        ctx = multiprocessing.get_context("spawn")  # fresh workers: a fork would copy CUDA, GL and thread state
        if render_envs and frame_shape is not None:
            shape, dtype = (slots, render_envs, *frame_shape), np.uint8
            if renderer is not None:
                shape, dtype = (slots, render_envs, renderer.nq), np.float64
            buffer = ctx.RawArray("B", int(np.prod(shape)) * np.dtype(dtype).itemsize)  # /dev/shm, or a temp file
            self.shared = np.frombuffer(buffer, dtype).reshape(shape)
            self.frames = self.shared if renderer is None else \
                torch.zeros((slots, render_envs, *frame_shape), dtype=torch.uint8, device=renderer.device)
        bounds = np.linspace(0, num_envs, max(1, min(num_workers, num_envs)) + 1).round().astype(int)
        self.blocks = list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))  # (first, end) of each worker's envs
        self.local, self.conns, self.processes = None, [], []
        if num_workers == 0:
            self.local = EnvGroup([make_env(**env_kwargs) for _ in range(num_envs)], 0, self.shared, renderer is not None)
            spaces = self.local.spaces()
        else:
            for a, b in self.blocks:
                parent, child = ctx.Pipe()
                shape = None if self.shared is None else self.shared.shape
                process = ctx.Process(target=env_worker, args=(child, env_kwargs, a, b - a, buffer, shape, renderer is not None),
                                      daemon=True)
                process.start()
                child.close()
                self.conns.append(parent)
                self.processes.append(process)
            try:
                spaces = self._gather()[0]
            except BaseException:  # an env that cannot be built (or Ctrl-C meanwhile): stop the others too
                self.close(wait=0.0)
                raise
        self.single_observation_space, self.single_action_space = spaces

    def _gather(self) -> list:
        """Each worker's reply; a worker that failed or died ends the run with a RunFailed naming its envs."""
        replies = []
        for k, conn in enumerate(self.conns):
            try:
                status, data = conn.recv()
            except (EOFError, OSError):  # it died without a word: killed (out of memory?), or crashed in C
                raise self._gone(k) from None
            if status == "error":
                raise RunFailed(f"{self._worker(k)} failed: {data.strip().splitlines()[-1]}", details=data)
            replies.append(data)
        return replies

    def _worker(self, k: int) -> str:
        a, b = self.blocks[k]
        return f"env worker {k + 1} of {len(self.conns)} (envs {a}-{b - 1} of {self.num_envs})"

    def _gone(self, k: int) -> RunFailed:
        """The failure of worker k, whose pipe closed: how it ended, by its exit code."""
        process = self.processes[k]
        process.join(timeout=1)
        if process.exitcode is None:
            how = "stopped answering"
        elif process.exitcode < 0:
            name = signal.Signals(-process.exitcode).name
            how = f"was killed by {name}" + (" (out of memory? see dmesg)" if name == "SIGKILL" else "")
        else:
            how = f"exited with status {process.exitcode}"
        return RunFailed(f"{self._worker(k)} {how}")

    def _call(self, command: str, per_block: list) -> list:
        if self.local is not None:
            return [getattr(self.local, command)(*per_block[0])]
        for k, (conn, data) in enumerate(zip(self.conns, per_block)):
            try:
                conn.send((command, data))
            except OSError:  # BrokenPipeError: the worker is gone
                raise self._gone(k) from None
        return self._gather()

    def step(self, actions: np.ndarray, slot: int = 0):
        """(obs, rewards, terminated, truncated, success, states), each (num_envs, ...) as EnvGroup.step's. The envs
        that render write their frames into frames[slot]."""
        results = self._call("step", [(actions[a:b], slot) for a, b in self.blocks])
        if self.renderer is not None and self.rendering:
            self.renderer.render(self.shared[slot], out=self.frames[slot])
        return [np.concatenate(parts) for parts in zip(*results)]

    def reset(self, seeds: dict, actions: Optional[dict] = None) -> np.ndarray:
        """Resets env i with seed seeds[i], for each i in `seeds`, and replays actions[i] if given (EnvGroup.reset);
        returns their observations in index order."""
        in_block = lambda d, a, b: {i: v for i, v in (d or {}).items() if a <= i < b}  # noqa: E731
        parts = self._call("reset", [(in_block(seeds, a, b), in_block(actions, a, b)) for a, b in self.blocks])
        return np.stack([obs for part in parts for obs in part])

    def set_rendering(self, flags):
        self.rendering = self.frames is not None and any(flags[:self.frames.shape[1]])
        self._call("set_rendering", [(list(flags[a:b]),) for a, b in self.blocks])

    def close(self, wait: float = 10.0):
        """Stops the workers: each finishes its command and exits; one still running after `wait` s is killed."""
        if self.local is not None:
            self.local.close()
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(("close", None))
        deadline = time.monotonic() + wait
        for process in self.processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            if process.is_alive():
                process.kill()
                process.join()
        for conn in self.conns:
            conn.close()
        self.local, self.conns, self.processes = None, [], []

    def __exit__(self, error_type, *_):
        self.close(wait=0.0 if error_type else 10.0)  # after a failure, nothing is worth waiting for


class WarpRenderer:
    """--renderer warp: MuJoCo's batch renderer (MuJoCo Warp) draws the qpos the workers reached, all envs in
    one batch, on the run's device (Warp's CPU device on a CPU); on a GPU the frames stay there, for CLIP.
    It renders a model of its own from the same XML (so the same qpos): Warp renders only the model's cameras,
    so the paper camera is written in as a fixed camera (the stock camera is the XML's "track"), and the
    solver is one Warp takes (rendering needs only kinematics). Frames differ from EGL's: results/benchmarks.md."""
    def __init__(self, args: Args, nworld: int, samples_per_pixel: int = 1):
        import mujoco
        import warp
        warp.config.log_level = warp.LOG_WARNING  # no line per compiled kernel
        import mujoco_warp
        self.wp, self.mjw, self.device = warp, mujoco_warp, resolve_device(args.device)
        images = look_images(args.look, args.look_dir)
        root = ET.parse(humanoid_xml(args.look, images)).getroot()
        ET.SubElement(root.find("worldbody"), "camera", name="paper", **paper_camera_pose())
        sky = root.find("asset/texture[@type='skybox']")
        if sky is not None and sky.get("file") and "gridsize" not in sky.attrib:  # one image, on every face (paper look)
            sky.attrib = {"type": "skybox", "file": six_faces(sky.get("file")), "gridsize": "6 1", "gridlayout": "RLUDFB"}
        mjm = mujoco.MjModel.from_xml_string(ET.tostring(root, encoding="unicode"))
        mjm.opt.solver = mujoco.mjtSolver.mjSOL_NEWTON  # Warp refuses PGS; no physics runs here
        self.nq, self.size = mjm.nq, args.render_size
        try:
            self.wp_device = warp.get_device("cpu" if self.device.type == "cpu" else f"cuda:{self.device.index or 0}")
        except Exception as e:  # a driver older than Warp's CUDA build wants, say
            raise UserError(f"MuJoCo Warp cannot use {self.device} ({e}): use --renderer egl") from None
        with warp.ScopedDevice(self.wp_device):
            try:
                self.model = mujoco_warp.put_model(mjm)
            except NotImplementedError as e:
                raise UserError(f"MuJoCo Warp cannot render this model ({e}): use --renderer egl") from None
            self.data = mujoco_warp.make_data(mjm, nworld=nworld)
            self.context = mujoco_warp.create_render_context(
                mjm, nworld=nworld, cam_res=(self.size, self.size), render_rgb=True, render_depth=False,
                use_textures=True, use_shadows=True, render_skybox=True, cam_active=["paper" if args.paper_camera else "track"],
                samples_per_pixel=samples_per_pixel)

    def render(self, qpos: np.ndarray, out: torch.Tensor):
        """Draws qpos (nworld, nq) into out, uint8 (nworld, H, W, 3) on the renderer's device."""
        mjw = self.mjw
        with self.wp.ScopedDevice(self.wp_device):
            self.data.qpos.assign(qpos.astype(np.float32))
            mjw.kinematics(self.model, self.data)
            mjw.com_pos(self.model, self.data)  # the tracking camera follows the centre of mass
            mjw.camlight(self.model, self.data)
            mjw.refit_bvh(self.model, self.data, self.context)
            mjw.render(self.model, self.data, self.context)
            self.wp.synchronize_stream(self.wp_device)  # Warp's stream only: not CLIP's batches on the GPU
        bgra = self.wp.to_torch(self.context.rgb_data).view(torch.uint8).view(*out.shape[:-1], 4)  # no copy
        out.copy_(bgra[..., :3].flip(-1))
        if self.device.type == "cuda":  # CLIP reads the frames on its own stream
            torch.cuda.current_stream(self.device).synchronize()


def six_faces(image_file: str) -> str:
    """The image stacked six times, once per cube face: the texture MuJoCo makes of a one-image skybox, in the
    layout Warp reads (it samples a skybox as six stacked faces, and would stretch one image over them all)."""
    data = Path(image_file).read_bytes()
    path = cache_dir() / f"skybox_six_faces_{hashlib.sha1(data).hexdigest()[:12]}.png"
    if not path.is_file():
        import imageio.v3
        image = imageio.v3.imread(data)[..., :3]
        atomic_write(path, imageio.v3.imwrite("<bytes>", np.concatenate([image] * 6), extension=".png"))
    return str(path)


def paper_camera_pose() -> dict:
    """PAPER_CAMERA (MuJoCo's free camera) as a fixed camera's MJCF attributes: the same view."""
    az, el = math.radians(PAPER_CAMERA["azimuth"]), math.radians(PAPER_CAMERA["elevation"])
    forward = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    pos = PAPER_CAMERA["lookat"] - PAPER_CAMERA["distance"] * forward
    return {"pos": " ".join(f"{v:.6f}" for v in pos), "fovy": "45",
            "xyaxes": " ".join(f"{v:.6f}" for v in (*right, *np.cross(right, forward)))}


# ======================================================================================
# Appendix D: the looks. The paper's: the authors' image files, fetched once and checked. The generated
# stand-ins in looks/generated/ (drawn by tests/generated_look.py), for offline use; the small CLIPs were trained on them.
# ======================================================================================

AUTHORS_REPO, AUTHORS_COMMIT = "AlignmentResearch/vlmrm", "811d8207abf5f67d1e0514a7acf01ee9b9e62702"  # MIT licence
AUTHORS_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
AUTHORS_IMAGES = {  # file -> (its path in the authors' repository, its sha256)
    "sky.png": ("src/vlmrm/envs/mujoco/sky.png", "f31d70b2ad3c0b21a284f56038e35cf60c0214f8da1c28c369aaad371a7dd402"),
    "tiles.png": ("src/vlmrm/envs/mujoco/tiles.png", "b88f028edd3a931f75bdbd54c1fa9b8d7bfb4f2eade3f56c1fe1daa305180984"),
    "robot.png": ("src/vlmrm/envs/mujoco/robot.png", "7b603885b8f962b7908ecfd8abe36a5a727354e4ad007e510cf1555abd7acab1"),
    "mountain_car_background.png": ("src/vlmrm/envs/classic_control/mountain_car_background.png",
                                    "ac60e3ef1ba491a100456f7168ba68734092a42ee6baf8a9580dbd413d1532d1"),
    "mountain_car.png": ("src/vlmrm/envs/classic_control/mountain_car.png",
                         "73d8a8760ec1b03e383d77d298c47bc0d9f667a8e9c8d6eae49ca93340d9a543")}


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vlmrm_sac"


def authors_images(look_dir: Optional[str] = None) -> dict:
    """{file: path} of the authors' images, each checked against its sha256. From `look_dir` (the files themselves,
    or a clone of the authors' repository) if given; else from the cache, which the first call fills from their
    repository at AUTHORS_COMMIT. A file that cannot be had, or has other bytes, is refused with a UserError."""
    ways_on = (f"give a folder that holds them (or a clone of github.com/{AUTHORS_REPO} at {AUTHORS_COMMIT[:7]}) with "
               "--look-dir, or render the generated look with --look generated")
    found = {}
    for name, (repo_path, sha256) in AUTHORS_IMAGES.items():
        if look_dir:
            candidates = [Path(look_dir).expanduser() / name, Path(look_dir).expanduser() / repo_path]
            path = next((p for p in candidates if p.is_file()), None)
            if path is None:
                raise UserError(f"the authors' image {name} is not in --look-dir {look_dir} (looked for "
                                f"{candidates[0]} and {candidates[1]}): {ways_on}")
            source, data = path, path.read_bytes()
        else:
            path = cache_dir() / f"authors_{AUTHORS_COMMIT[:7]}" / name
            if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
                found[name] = path.resolve()
                continue
            source = AUTHORS_URL.format(repo=AUTHORS_REPO, commit=AUTHORS_COMMIT, path=repo_path)
            try:
                with urllib.request.urlopen(source, timeout=30) as response:
                    data = response.read()
            except OSError as e:
                raise UserError(f"could not download the authors' image {name} from {source} "
                                f"({getattr(e, 'reason', e)}): {ways_on}") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise UserError(f"the authors' image {name} from {source} is not theirs (sha256 "
                            f"{hashlib.sha256(data).hexdigest()[:12]}..., expected {sha256[:12]}...), so it was not "
                            f"used{'' if look_dir else ' or cached'}: {ways_on}")
        if not look_dir:
            atomic_write(path, data)
        found[name] = path.resolve()
    return found


def draw_mountaincar(position: float, images: dict) -> np.ndarray:
    """The paper's MountainCar frame, as the authors' renderer makes it: their photograph (600x400) and their car
    sprite (or the generated look's stand-ins), rotated with the slope, its centre 15 px above the track. pygame draws y up, so the sprite is flipped,
    rotated and placed in a flipped frame, which is flipped back at the end (the same operations as theirs)."""
    import pygame
    background, car = _authors_sprites(str(images["mountain_car_background.png"]), str(images["mountain_car.png"]))
    width, height = background.get_size()
    scale = width / (MOUNTAINCAR_X_RANGE[1] - MOUNTAINCAR_X_RANGE[0])
    surface = pygame.Surface((width, height))
    surface.fill((255, 255, 255))  # the photograph's alpha (247-255) blends with white, as theirs does
    surface.blit(background, (0, 0))
    sprite = pygame.transform.rotate(car, -math.degrees(math.atan(math.cos(3 * position) * 0.45 * 3)))
    rect = sprite.get_rect()
    rect.center = ((position - MOUNTAINCAR_X_RANGE[0]) * scale, 15 + (math.sin(3 * position) * 0.45 + 0.55) * scale)
    surface.blit(sprite, rect)
    return np.transpose(pygame.surfarray.array3d(pygame.transform.flip(surface, False, True)), (1, 0, 2))


@functools.lru_cache(maxsize=2)
def _authors_sprites(background_file: str, car_file: str):
    """The authors' MountainCar images as pygame surfaces, flipped into pygame's y-up frame; loaded once."""
    import pygame
    return tuple(pygame.transform.flip(pygame.image.load(f), False, True) for f in (background_file, car_file))


_LOOKS_VERSION = "3"  # bump when the written XML changes, so that stale caches are not reused
GENERATED_LOOK = Path(__file__).resolve().parent / "looks" / "generated"  # drawn by tests/generated_look.py


def look_images(look: str, look_dir: Optional[str] = None) -> Optional[dict]:
    """{file: path} of a look's images, named as the authors' files: theirs (paper), the stand-ins (generated); stock: None."""
    if look == "stock":
        return None
    return authors_images(look_dir) if look == "paper" else {name: GENERATED_LOOK / name for name in AUTHORS_IMAGES}


def humanoid_xml(look: str, images: Optional[dict] = None) -> str:
    """Path of the Humanoid XML to render: gymnasium's stock file (look "stock"), or the stock bodies with the
    look's sky, floor, body texture and light, as the authors' humanoid_textured.xml has them ("paper": their image
    files, `images`; "generated": the stand-ins in looks/generated/). Written once into the cache, keyed by what it holds; the
    bodies and joints, hence the observations, stay the stock ones."""
    import gymnasium.envs.mujoco  # the package that holds the stock humanoid.xml
    src = os.path.join(os.path.dirname(gymnasium.envs.mujoco.__file__), "assets", "humanoid.xml")
    if look == "stock":
        return src
    images = images or look_images(look)
    src_bytes = Path(src).read_bytes()
    if look == "generated":
        sky = {"gridsize": "3 4", "gridlayout": ".U..LFRB.D.."}  # the generated sky is a cross of six faces
    else:
        sky = {"height": "100", "width": "100"}  # as the authors' XML: one image, MuJoCo maps it onto every face
    files = {name: str(images[name]) for name in ("sky.png", "tiles.png", "robot.png")}
    key = hashlib.sha1(src_bytes + _LOOKS_VERSION.encode() + json.dumps(files).encode()).hexdigest()[:12]
    out_xml = cache_dir() / f"humanoid_{look}_{key}.xml"
    if out_xml.is_file():
        return str(out_xml)
    root = ET.fromstring(src_bytes)
    root.find("default/geom").set("rgba", "1 1 1 1")  # white so the texture colour shows unchanged
    asset = root.find("asset")
    for child in list(asset):
        asset.remove(child)
    ET.SubElement(asset, "texture", type="skybox", file=files["sky.png"], **sky)
    ET.SubElement(asset, "texture", name="texplane", type="2d", file=files["tiles.png"], height="100", width="100")
    ET.SubElement(asset, "material", name="MatPlane", texture="texplane", texrepeat="60 60",
                  reflectance="0", shininess="0", specular="0")  # matte stone, no mirror image
    ET.SubElement(asset, "texture", name="texgeom", type="cube", file=files["robot.png"], height="1278", width="127")
    ET.SubElement(asset, "material", name="geom", texture="texgeom", texuniform="true", specular="1", shininess="1")
    world = root.find("worldbody")
    world.find("light").attrib.update({"dir": "0 0 -1.5", "pos": "0 0 1", "diffuse": "1 1 1", "specular": ".5 .5 .5"})
    world.find("geom[@name='floor']").set("rgba", "1 1 1 1")
    atomic_write(out_xml, ET.tostring(root))
    return str(out_xml)


def humanoid_v4_look(env, xml_file: str, paper_camera: bool):
    """Humanoid-v4 takes neither `xml_file` nor `default_camera_config` (it passes its own), so its model is
    reloaded from the look's XML (the same bodies and joints, hence the same states) and its renderer, which
    makes its GL context only at the first frame, gets the paper camera."""
    if xml_file != env.fullpath:
        env.fullpath = xml_file
        env.model, env.data = env._initialize_simulation()
        env.mujoco_renderer.model, env.mujoco_renderer.data = env.model, env.data
    if paper_camera:
        env.mujoco_renderer.default_cam_config = PAPER_CAMERA


if __name__ == "__main__":
    main(tyro.cli(Args))
