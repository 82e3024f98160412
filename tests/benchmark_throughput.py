"""Throughput benchmark: the real training loop on the paper's humanoid configuration with a CLIP of the
real architecture and random weights (the speed is the same as with trained weights). Prints figures;
it is not a test.

    python tests/benchmark_throughput.py --arch vit-b-32            # paper config: 32 envs, 480x480, 100x100 updates
    python tests/benchmark_throughput.py --arch vit-bigG-14 --stretches 3
    python tests/benchmark_throughput.py --arch vit-b-32 --num-envs 4 --train-frequency 25 --stretches 2   # a CPU
    python tests/benchmark_throughput.py --arch vit-b-32 --renderer warp      # the paper config, MuJoCo Warp
    python tests/benchmark_throughput.py --arch vit-bigG-14 --stretches 3 --profile loop.prof   # where "other" goes

Reports: end-to-end env steps/s after learning starts and where the loop's time goes (env: the workers'
simulation and EGL rendering; render: MuJoCo Warp's batch; reward: waiting for CLIP after the envs are done;
policy; update; other = Python and waits), standalone CLIP images/s at the same batch size, and SAC updates/s
at batch 512 beside a plain CleanRL-style update measured in the same process.
"""

import collections
import contextlib
import cProfile
import functools
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Optional
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np
import torch
import torch.nn.functional as F
import tyro

import plot
import vlmrm_sac
from tiny_models import save_random_clip, save_random_model, smooth_frames

ARCHS = {  # the real widths and depths of open_clip's ViT-B-32 and ViT-bigG-14; weights are random
    "vit-b-32": dict(vision=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                                 patch_size=32, image_size=224),
                     text=dict(hidden_size=512, num_hidden_layers=12, num_attention_heads=8, intermediate_size=2048),
                     projection_dim=512),
    "vit-bigG-14": dict(vision=dict(hidden_size=1664, num_hidden_layers=48, num_attention_heads=16, intermediate_size=8192,
                                    patch_size=14, image_size=224, hidden_act="gelu"),
                        text=dict(hidden_size=1280, num_hidden_layers=32, num_attention_heads=20, intermediate_size=5120,
                                  hidden_act="gelu"),
                        projection_dim=1280),
    "mini-64": dict(vision=dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, intermediate_size=256,
                                patch_size=16, image_size=64),  # the size of the small CLIPs in results/mini_clip
                    text=dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, intermediate_size=256),
                    projection_dim=64),
    "mini-128": dict(vision=dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, intermediate_size=512,
                                 patch_size=16, image_size=64),  # results/mini_clip/humanoid_small's size
                     text=dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=512),
                     projection_dim=64),
    "mini-128-px128": dict(vision=dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, intermediate_size=512,
                                       patch_size=16, image_size=128),  # results/mini_clip/humanoid_small_visited_128's size
                           text=dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=512),
                           projection_dim=64),
    # X-CLIP (video-text): microsoft/xclip-base-patch32's sizes, and one of the mini-64's; their clip length is
    # --reward-frames
    "xclip-b-32": dict(vision=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                                   patch_size=32, image_size=224, mit_hidden_size=512, mit_intermediate_size=2048,
                                   mit_num_hidden_layers=1, mit_num_attention_heads=8),
                       text=dict(hidden_size=512, num_hidden_layers=12, num_attention_heads=8, intermediate_size=2048),
                       projection_dim=512),
    "xclip-mini-64": dict(vision=dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, intermediate_size=256,
                                      patch_size=16, image_size=64, mit_hidden_size=64, mit_intermediate_size=256,
                                      mit_num_hidden_layers=1, mit_num_attention_heads=4),
                          text=dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, intermediate_size=256),
                          projection_dim=64),
}


@dataclass
class Bench:
    arch: str = "vit-b-32"
    """vit-b-32, vit-bigG-14, mini-64 / mini-128 (small CLIPs of 64-pixel images, the sizes trained here), mini-128-px128
    (mini-128 seeing 128-pixel images), xclip-b-32, xclip-mini-64"""
    reward_frames: int = 1
    """--reward-frames K: each reward scores a window of K frames (X-CLIP: its clip length)"""
    num_envs: int = 32
    train_frequency: int = 100
    """vector steps per stretch (the paper: 100)"""
    gradient_steps: int = 100
    stretches: int = 2
    """timed stretches after learning starts (one warm-up stretch runs before them)"""
    render_size: int = 480
    reward_batch_size: int = 256
    renderer: str = "egl"
    """egl or warp (MuJoCo Warp), as vlmrm_sac.py's --renderer"""
    num_workers: Optional[int] = None
    """env worker processes (default: the script's, one per CPU core)"""
    look: str = "paper"
    """the humanoid's look (paper: the authors' images, downloaded or --look-dir; generated: offline)"""
    look_dir: Optional[str] = None
    """a folder holding the authors' image files, as vlmrm_sac.py's --look-dir"""
    reward_precision: str = "auto"
    device: str = "auto"
    update_iters: int = 200
    """SAC updates timed for updates/s"""
    profile: Optional[str] = None
    """also profile the training loop's own thread with cProfile: the stats go to this file (read it with
    `python -m pstats FILE` or snakeviz) and its 20 most expensive functions, by their own time, are printed. This is
    where the split's "other" goes (Python work and waits outside the timed phases); the CLIP and worker threads
    are not in it (for those: `py-spy record --native --subprocesses -- python tests/benchmark_throughput.py ...`)"""
    renders: bool = False
    """only measure frames/s (step + render, one process) of each env and look, and exit"""
    transfer: int = 0
    """only measure how fast this many CartPole envs (600x400 frames) step and render for 200 vector steps: the
    env pool (frames rendered into shared memory) beside gymnasium's AsyncVectorEnv with each env's frame in its
    info, pickled through a pipe and then stacked, and exit"""
    precision: int = 0
    """only measure each --reward-precision scheme on this many smooth synthetic images (images/s, and the worst
    reward error against fp32 over the std of the fp32 rewards), and exit"""
    log_prompts: int = 0
    """only measure the reward model's images/s on this many 480x480 frames with 0, 4 and 16 --log-prompt sentences
    (CLIPReward.score_frames: one image embedding, scored against each sentence), and exit"""


def build_clip(arch: str, path: str, frames: int = 1) -> str:
    from transformers import CLIPConfig, CLIPImageProcessor, XCLIPConfig, XCLIPModel

    spec = ARCHS[arch]
    if not arch.startswith("xclip"):
        config = CLIPConfig(text_config=spec["text"], vision_config=spec["vision"], projection_dim=spec["projection_dim"])
        return save_random_clip(path, config)
    config = XCLIPConfig(text_config=spec["text"], vision_config={**spec["vision"], "num_frames": frames},
                         projection_dim=spec["projection_dim"])
    size = spec["vision"]["image_size"]
    return save_random_model(path, XCLIPModel, config, CLIPImageProcessor(size={"shortest_edge": size},
                                                                          crop_size={"height": size, "width": size}))


def clip_images_per_s(model: vlmrm_sac.CLIPReward, n: int, size: int, repeats: int = 2) -> float:
    """Frames/s through the reward: each frame's own work and the scoring of the window that ends at it (K = 1:
    the image embedding)."""
    frames = torch.randint(0, 256, (n, size, size, 3), dtype=torch.uint8)
    model.score_episode(frames[: min(n, model.batch_size)])  # warm-up
    sync(model.device)
    start = time.perf_counter()
    for _ in range(repeats):
        model.score_episode(frames)
    sync(model.device)
    return repeats * n / (time.perf_counter() - start)


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def updates_per_s(agent: vlmrm_sac.SAC, args: vlmrm_sac.Args, obs_dim: int, act_dim: int, iters: int) -> float:
    device = agent.log_ent_coef.device
    buffer = vlmrm_sac.ReplayBuffer(100_000, obs_dim, (act_dim,), torch.float32, device)
    buffer.add(obs=torch.randn(100_000, obs_dim), next_obs=torch.randn(100_000, obs_dim),
               actions=torch.rand(100_000, act_dim) * 0.8 - 0.4, rewards=torch.rand(100_000), dones=torch.zeros(100_000))
    for i in range(10):
        agent.update(buffer.sample(args.batch_size), args, i)
    sync(device)
    start = time.perf_counter()
    for i in range(iters):
        agent.update(buffer.sample(args.batch_size), args, i)
    sync(device)
    return iters / (time.perf_counter() - start)


def cleanrl_updates_per_s(obs_dim: int, act_dim: int, args: vlmrm_sac.Args, device, iters: int) -> float:
    """CleanRL sac_continuous_action.py's update, as written there (with .item()-free logging off)."""
    def net(i, o):
        return torch.nn.Sequential(torch.nn.Linear(i, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                   torch.nn.Linear(256, o)).to(device)
    actor, qf1, qf2 = net(obs_dim, 2 * act_dim), net(obs_dim + act_dim, 1), net(obs_dim + act_dim, 1)
    qf1_t, qf2_t = net(obs_dim + act_dim, 1), net(obs_dim + act_dim, 1)
    q_opt = torch.optim.Adam([*qf1.parameters(), *qf2.parameters()], lr=args.q_lr)
    a_opt = torch.optim.Adam(actor.parameters(), lr=args.policy_lr)
    log_alpha = torch.zeros(1, requires_grad=True, device=device)
    al_opt = torch.optim.Adam([log_alpha], lr=args.q_lr)
    obs, nobs = torch.randn(100_000, obs_dim, device=device), torch.randn(100_000, obs_dim, device=device)
    acts, rews = torch.rand(100_000, act_dim, device=device) - 0.5, torch.rand(100_000, device=device)

    def get_action(o):
        mean, log_std = actor(o).chunk(2, -1)
        log_std = -5 + 0.5 * 7 * (torch.tanh(log_std) + 1)
        normal = torch.distributions.Normal(mean, log_std.exp())
        x = normal.rsample()
        y = torch.tanh(x)
        log_prob = (normal.log_prob(x) - torch.log(0.4 * (1 - y.pow(2)) + 1e-6)).sum(1, keepdim=True)
        return y * 0.4, log_prob

    def step():
        idx = torch.randint(0, 100_000, (args.batch_size,), device=device)
        o, no, a, r = obs[idx], nobs[idx], acts[idx], rews[idx]
        alpha = log_alpha.exp().detach()
        with torch.no_grad():
            na, nlp = get_action(no)
            q_next = torch.min(qf1_t(torch.cat([no, na], 1)), qf2_t(torch.cat([no, na], 1))) - alpha * nlp
            target = r + args.gamma * q_next.view(-1)
        q_loss = F.mse_loss(qf1(torch.cat([o, a], 1)).view(-1), target) + F.mse_loss(qf2(torch.cat([o, a], 1)).view(-1), target)
        q_opt.zero_grad()
        q_loss.backward()
        q_opt.step()
        pa, lp = get_action(o)
        a_loss = (alpha * lp - torch.min(qf1(torch.cat([o, pa], 1)), qf2(torch.cat([o, pa], 1)))).mean()
        a_opt.zero_grad()
        a_loss.backward()
        a_opt.step()
        al_loss = (-log_alpha.exp() * (lp.detach() - act_dim)).mean()
        al_opt.zero_grad()
        al_loss.backward()
        al_opt.step()
        with torch.no_grad():
            for net_, tgt in ((qf1, qf1_t), (qf2, qf2_t)):
                for p, tp in zip(net_.parameters(), tgt.parameters()):
                    tp.data.copy_(args.tau * p.data + (1 - args.tau) * tp.data)

    for _ in range(10):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        step()
    sync(device)
    return iters / (time.perf_counter() - start)


def render_rates(size: int, look_dir: Optional[str], frames: int = 40):
    print(f"| env and look | frames/s ({size}x{size} for MuJoCo; step + render, one process) |\n|---|---|")
    for name, (env_id, kwargs) in plot.LOOKS.items():  # the looks `plot.py frames` draws
        env = vlmrm_sac.make_env(env_id, render_size=size, **{"look_dir": look_dir, **kwargs})
        env.reset(seed=0)
        space = env.action_space
        action = np.zeros(space.shape, space.dtype) if hasattr(space, "low") else 1
        for _ in range(5):  # warm-up: the render context is made on the first frame
            env.step(action)
            env.render()
        start = time.perf_counter()
        for _ in range(frames):
            env.step(action)
            env.render()
        print(f"| {name} | {frames / (time.perf_counter() - start):.1f} |")
        env.close()


class FrameInInfo(vlmrm_sac.gym.Wrapper):
    """The frame of the reached state travels in info, pickled through AsyncVectorEnv's worker pipe."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, {**info, "frame": self.env.render()}


def make_framed_cartpole():
    return FrameInInfo(vlmrm_sac.make_env("CartPole-v1", 200))


def transfer_rates(num_envs: int, steps: int = 200):
    """Vector steps/s of num_envs CartPoles rendering every frame, and where the trainer's time goes."""
    print(f"{num_envs} CartPole-v1 envs, every env renders 600x400 every step, {steps} vector steps, {device_name(torch.device('cpu'))}")
    print("| how frames reach the trainer | workers | vector steps/s | frames/s |\n|---|---|---|---|")
    actions = np.ones(num_envs, dtype=np.int64)
    piped = vlmrm_sac.gym.vector.AsyncVectorEnv([make_framed_cartpole] * num_envs,
                                                autoreset_mode=vlmrm_sac.gym.vector.AutoresetMode.DISABLED)
    piped.reset(seed=list(range(num_envs)))
    for _ in range(5):
        piped.step(actions)
    start = time.perf_counter()
    for t in range(steps):
        frames = piped.step(actions)[4]["frame"]  # (n, H, W, 3), unpickled and stacked
        batch = np.concatenate([frames])  # one more copy: a CLIP batch built from the stacked frames
    rate = steps / (time.perf_counter() - start)
    piped.close()
    print(f"| pickled through a pipe per env (AsyncVectorEnv) | {num_envs} | {rate:.1f} | {rate * num_envs:.0f} |")
    for workers in sorted({num_envs, max(1, len(os.sched_getaffinity(0)))}):
        args = vlmrm_sac.Args(env_id="CartPole-v1", num_envs=num_envs, num_workers=workers, episode_length=200)
        pool = vlmrm_sac.make_env_pool(args, slots=steps, render_envs=num_envs)
        pool.reset({i: i for i in range(num_envs)})
        for t in range(5):
            pool.step(actions, slot=t)
        start = time.perf_counter()
        for t in range(steps):
            pool.step(actions, slot=t)
            batch = pool.frames[t]  # a view: what CLIP reads
        rate = steps / (time.perf_counter() - start)
        pool.close()
        print(f"| rendered into shared memory (the env pool) | {workers} | {rate:.1f} | {rate * num_envs:.0f} |")
    del batch


def precision_table(arch: str, n: int, batch_size: int, device):
    """The reward of each precision scheme (cosine with the goal prompt's embedding, a fixed direction for a
    random-weight model) against fp32, on smooth 480x480 synthetic images."""
    frames = smooth_frames(n, 480)
    with tempfile.TemporaryDirectory() as tmp:
        path = build_clip(arch, tmp)
        exact = None
        print(f"{arch}, random weights, {n} smooth synthetic 480x480 images, batch {batch_size}, on {device_name(device)}")
        print("| --reward-precision | images/s | worst reward error / reward std |\n|---|---|---|")
        for precision in vlmrm_sac.PRECISIONS:
            model = vlmrm_sac.CLIPReward(path, ["a humanoid robot kneeling"], device=device, precision=precision, batch_size=batch_size)
            rewards = model(frames).cpu()
            exact = rewards if exact is None else exact
            speed = clip_images_per_s(model, n, 480)
            print(f"| {precision} | {speed:.1f} | {float((rewards - exact).abs().max() / exact.std()):.1%} |")


def log_prompt_rates(arch: str, n: int, batch_size: int, device):
    """The reward model's images/s with 0, 4 and 16 logged prompts: the text embeddings are computed once, when the
    model is made; each frame's image embedding is shared by the goal and every logged prompt."""
    frames = torch.randint(0, 256, (n, 480, 480, 3), dtype=torch.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        path = build_clip(arch, tmp)
        print(f"{arch}, random weights, {n} random 480x480 frames, batch {batch_size}, on {device_name(device)}")
        print("| logged prompts | images/s (score_frames: rewards, logged scores, votes) | of which scoring the prompts |\n|---|---|---|")
        for k in (0, 4, 16):
            model = vlmrm_sac.CLIPReward(path, ["a humanoid robot kneeling"], ["a humanoid robot"], alpha=0.5, device=device,
                                         batch_size=batch_size, log_prompts=[f"a humanoid robot pose {i}" for i in range(k)])
            model.score_frames(frames[:batch_size])  # warm-up
            sync(device)
            start = time.perf_counter()
            for _ in range(2):
                model.score_frames(frames)
            sync(device)
            seconds = (time.perf_counter() - start) / 2
            x = model.embed_images(frames[:batch_size])
            start = time.perf_counter()
            for _ in range(20):  # the scores alone, from a batch's embeddings
                vlmrm_sac.goal_baseline_reward(x, model.goal_emb, model.baseline_emb, model.alpha)
                if k:
                    [vlmrm_sac.goal_baseline_reward(x, e, model.baseline_emb, model.alpha) for e in model.log_emb]
                    (x @ model.log_emb.T).max(1)
            sync(device)
            scoring = (time.perf_counter() - start) / 20 * n / len(x)
            print(f"| {k} | {n / seconds:.1f} | {scoring / seconds:.2%} |")


@contextlib.contextmanager
def loop_phases():
    """Where train()'s time goes after learning starts, measured from outside the loop: the calls it makes for each
    phase are wrapped while it runs. Yields {phase: seconds} and, under "wall", the time from the end of the first
    gradient steps to the end of the run."""
    m, totals, since = vlmrm_sac, collections.defaultdict(float), []
    wrapped = {(m.EnvPool, "step"): "env", (m.EnvPool, "reset"): "env", (m.WarpRenderer, "render"): "render",
               (m.StretchScorer, "score_stretch"): "reward", (m.SAC, "act"): "policy", (m.Learner, "update"): "update"}
    originals = {key: getattr(*key) for key in wrapped}

    def timed(key):
        @functools.wraps(originals[key])
        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return originals[key](*args, **kwargs)
            finally:
                if since:  # learning has started
                    totals[wrapped[key]] += time.perf_counter() - start
                elif wrapped[key] == "update":
                    since.append(time.perf_counter())
        return call

    for key in wrapped:
        setattr(*key, timed(key))
    try:
        yield totals
    finally:
        for key, original in originals.items():
            setattr(*key, original)
        totals["wall"] = time.perf_counter() - since[0] if since else 0.0
        totals["env"] -= totals["render"]  # Warp renders inside EnvPool.step


def device_name(device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({len(os.sched_getaffinity(0))} cores, {platform.processor() or platform.machine()})"


def main(b: Bench):
    if b.transfer:
        return transfer_rates(b.transfer)
    if b.precision:
        return precision_table(b.arch, b.precision, b.reward_batch_size, vlmrm_sac.resolve_device(b.device))
    if b.log_prompts:
        return log_prompt_rates(b.arch, b.log_prompts, b.reward_batch_size, vlmrm_sac.resolve_device(b.device))
    if b.renders:
        return render_rates(b.render_size, b.look_dir)
    device = vlmrm_sac.resolve_device(b.device)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    workers = b.num_workers if b.num_workers is not None else min(b.num_envs, len(os.sched_getaffinity(0)))
    print(f"# {b.arch}, {b.num_envs} envs on {workers} workers x {b.train_frequency} steps per stretch, {b.gradient_steps} "
          f"gradient steps, {b.render_size}px, renderer {b.renderer}, on {device_name(device)}, commit {commit}")
    with tempfile.TemporaryDirectory() as tmp:
        clip_path = build_clip(b.arch, os.path.join(tmp, "clip"), b.reward_frames)
        per_stretch = b.num_envs * b.train_frequency
        args = vlmrm_sac.Args(env_id="Humanoid-v5", num_envs=b.num_envs, train_frequency=b.train_frequency,
                       gradient_steps=b.gradient_steps, render_size=b.render_size, renderer=b.renderer,
                       num_workers=b.num_workers, reward_precision=b.reward_precision,
                       look=b.look, look_dir=b.look_dir,
                       clip_model=clip_path, prompt=("a humanoid robot kneeling",), device=b.device,
                       reward_batch_size=b.reward_batch_size, learning_starts=per_stretch, reward_frames=b.reward_frames,
                       total_timesteps=per_stretch * (2 + b.stretches), log_interval=per_stretch * 2,
                       video_interval=0, checkpoint_interval=10**12, run_dir=os.path.join(tmp, "runs"))
        vlmrm_sac.check_args(args)
        profiler = cProfile.Profile() if b.profile else None
        with loop_phases() as phases:
            vlmrm_sac.train(args) if profiler is None else profiler.runcall(vlmrm_sac.train, args)
        sps = b.stretches * per_stretch / phases["wall"]  # the stretches after the warm-up one
        model = vlmrm_sac.CLIPReward(clip_path, ["a humanoid robot kneeling"], device=device, batch_size=b.reward_batch_size,
                              precision=b.reward_precision, reward_frames=b.reward_frames)
        images = clip_images_per_s(model, min(per_stretch, 2048), b.render_size)
        agent = vlmrm_sac.SAC(348, vlmrm_sac.gym.spaces.Box(-0.4, 0.4, (17,), np.float32), args, device)
        ours = updates_per_s(agent, args, 348, 17, b.update_iters)
        plain = cleanrl_updates_per_s(348, 17, args, device, b.update_iters)
    phases["other"] = phases["wall"] - sum(phases[k] for k in ("env", "render", "reward", "policy", "update"))
    split = ", ".join(f"{k} {phases[k] / phases['wall']:.0%}" for k in ("env", "render", "reward", "policy", "update", "other"))
    print(f"end-to-end env steps/s: {sps:.1f} (time: {split})")
    print(f"standalone reward, frames/s with --reward-frames {b.reward_frames} (batch {b.reward_batch_size}, {b.render_size}px frames incl. preprocessing): {images:.1f}")
    print(f"end-to-end / standalone CLIP: {sps / images:.0%}")
    print(f"SAC updates/s at batch {args.batch_size}: ours {ours:.0f}, plain CleanRL-style {plain:.0f}")
    if profiler is not None:
        profiler.dump_stats(b.profile)
        print(f"the loop's thread, whole run (warm-up and start included), by own time; all of it in {b.profile}:")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main(tyro.cli(Bench))
