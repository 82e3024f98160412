"""Throughput benchmark: the real training loop on the paper's humanoid configuration with a CLIP of the
real architecture and random weights (the speed is the same as with trained weights). Prints figures;
it is not a test.

    python tests/benchmark_throughput.py --arch vit-b-32            # paper config: 32 envs, 480x480, 100x100 updates
    python tests/benchmark_throughput.py --arch vit-bigG-14 --stretches 3
    python tests/benchmark_throughput.py --arch vit-b-32 --num-envs 4 --train-frequency 25 --stretches 2   # a CPU

Reports: end-to-end env steps/s after learning starts and its time split (simulation, rendering,
reward, updates, other = waiting and Python), standalone CLIP images/s at the same batch size, and
SAC updates/s at batch 512 beside a plain CleanRL-style update measured in the same process.
"""

import csv
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np
import torch
import torch.nn.functional as F
import tyro
from tqdm import tqdm

import plot
import vlmrm_sac as vs
from tiny_models import save_random_clip

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
}


@dataclass
class Bench:
    arch: str = "vit-b-32"
    """vit-b-32 or vit-bigG-14"""
    num_envs: int = 32
    train_frequency: int = 100
    """vector steps per stretch (the paper: 100)"""
    gradient_steps: int = 100
    stretches: int = 2
    """timed stretches after learning starts (one warm-up stretch runs before them)"""
    render_size: int = 480
    reward_batch_size: int = 256
    fast_render: bool = False
    device: str = "auto"
    update_iters: int = 200
    """SAC updates timed for updates/s"""
    renders: bool = False
    """only measure frames/s (step + render, one process) of each env and look, and exit"""
    render_quality: int = 0
    """only compare --fast-render with paper-quality frames of this many varied humanoid poses at CLIP's input
    (after the project's preprocessing to 224x224), beside the project's preprocessing vs transformers' own, and exit"""


def build_clip(arch: str, path: str) -> str:
    from transformers import CLIPConfig

    spec = ARCHS[arch]
    config = CLIPConfig(text_config=spec["text"], vision_config=spec["vision"], projection_dim=spec["projection_dim"])
    return save_random_clip(path, config)


def clip_images_per_s(model: vs.CLIPReward, n: int, size: int, repeats: int = 2) -> float:
    frames = torch.randint(0, 256, (n, size, size, 3), dtype=torch.uint8)
    model.embed_images(frames[: min(n, model.batch_size)])  # warm-up
    sync(model.device)
    start = time.perf_counter()
    for _ in range(repeats):
        model.embed_images(frames)
    sync(model.device)
    return repeats * n / (time.perf_counter() - start)


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def updates_per_s(agent: vs.SAC, args: vs.Args, obs_dim: int, act_dim: int, iters: int) -> float:
    device = agent.log_ent_coef.device
    buffer = vs.ReplayBuffer(100_000, obs_dim, (act_dim,), torch.float32, device)
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


def cleanrl_updates_per_s(obs_dim: int, act_dim: int, args: vs.Args, device, iters: int) -> float:
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


def render_rates(size: int, frames: int = 40):
    print(f"| env and look | frames/s ({size}x{size} for MuJoCo; step + render, one process) |\n|---|---|")
    for name, (env_id, kwargs) in plot.LOOKS.items():  # the looks `plot.py frames` draws
        env = vs.make_env(env_id, render_size=size, **kwargs)
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


def render_quality(poses: int, size: int):
    """Mean and max absolute difference, in CLIP's normalized input units, between paper-quality and
    --fast-render frames of the same poses, and between the project's preprocessing and CLIPImageProcessor's
    (resizing the whole frame, PIL bicubic) of the same paper-quality frames: a difference already accepted."""
    from PIL import Image
    from transformers import CLIPImageProcessor

    with tempfile.TemporaryDirectory() as tmp:
        model = vs.CLIPReward(build_clip("vit-b-32", tmp), ["a humanoid robot"])  # its preprocessing: 224, OpenAI mean/std
    processor = CLIPImageProcessor(size={"height": 224, "width": 224}, do_center_crop=False, resample=Image.BICUBIC,
                                   image_mean=model.image_mean.flatten().tolist(), image_std=model.image_std.flatten().tolist())
    paper, fast = vs.make_env("Humanoid-v5", render_size=size), vs.make_env("Humanoid-v5", render_size=size, fast_render=True)
    fast.reset(seed=0)
    fast_diff, processor_diff = [], []
    for _ in tqdm(plot.varied_poses(paper, poses, seed=0), total=poses, desc="poses", unit="pose"):
        fast.unwrapped.set_state(paper.unwrapped.data.qpos.copy(), paper.unwrapped.data.qvel.copy())
        a, b = paper.render(), fast.render()
        ours = model.preprocess(a[None])
        fast_diff.append((ours - model.preprocess(b[None])).abs())
        processor_diff.append((ours - processor(images=[a], return_tensors="pt").pixel_values).abs())
    print(f"{poses} humanoid poses, {size}x{size} frames -> 224x224, normalized units (1/255 of a grey level = "
          f"{1 / 255 / float(model.image_std.mean()):.4f})")
    print("| comparison | mean abs diff | 99.9th percentile | max | worst pose's mean |\n|---|---|---|---|---|")
    for name, diffs in (("--fast-render vs paper quality (ours)", fast_diff),
                        ("our preprocessing vs CLIPImageProcessor (paper quality)", processor_diff)):
        d = torch.cat(diffs)
        worst = max(float(x.mean()) for x in diffs)
        print(f"| {name} | {float(d.mean()):.4f} | {float(torch.quantile(d.flatten()[::7], 0.999)):.4f} | "
              f"{float(d.max()):.4f} | {worst:.4f} |")


def main(b: Bench):
    if b.renders:
        return render_rates(b.render_size)
    if b.render_quality:
        return render_quality(b.render_quality, b.render_size)
    device = vs.resolve_device(b.device)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    gpu = torch.cuda.get_device_name(0) if device.type == "cuda" else f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})"
    print(f"# {b.arch}, {b.num_envs} envs x {b.train_frequency} steps per stretch, {b.gradient_steps} gradient steps, "
          f"{b.render_size}px{' fast-render' if b.fast_render else ''}, on {gpu}, commit {commit}")
    with tempfile.TemporaryDirectory() as tmp:
        clip_path = build_clip(b.arch, os.path.join(tmp, "clip"))
        per_stretch = b.num_envs * b.train_frequency
        args = vs.Args(env_id="Humanoid-v5", num_envs=b.num_envs, train_frequency=b.train_frequency,
                       gradient_steps=b.gradient_steps, render_size=b.render_size, fast_render=b.fast_render,
                       clip_model=clip_path, prompt=("a humanoid robot kneeling",), device=b.device,
                       reward_batch_size=b.reward_batch_size, learning_starts=per_stretch,
                       total_timesteps=per_stretch * (2 + b.stretches), log_interval=per_stretch * 2,
                       video_interval=0, checkpoint_interval=10**12, run_dir=os.path.join(tmp, "runs"))
        vs.check_args(args)
        run_dir = vs.train(args)
        rows = [r for r in csv.DictReader(open(run_dir / "metrics.csv")) if r["kind"] == "train" and r["sps"]]
        last = rows[-1]  # the stretches after the warm-up one
        model = vs.CLIPReward(clip_path, ["a humanoid robot kneeling"], device=device, batch_size=b.reward_batch_size)
        images = clip_images_per_s(model, min(per_stretch, 2048), b.render_size)
        agent = vs.SAC(348, vs.gym.spaces.Box(-0.4, 0.4, (17,), np.float32), args, device)
        ours = updates_per_s(agent, args, 348, 17, b.update_iters)
        plain = cleanrl_updates_per_s(348, 17, args, device, b.update_iters)
    split = ", ".join(f"{k} {float(last['share_' + k]):.0%}" for k in ("sim", "render", "reward", "update", "other"))
    print(f"end-to-end env steps/s: {float(last['sps']):.1f} (time: {split})")
    print(f"standalone CLIP images/s (batch {b.reward_batch_size}, {b.render_size}px frames incl. preprocessing): {images:.1f}")
    print(f"end-to-end / standalone CLIP: {float(last['sps']) / images:.0%}")
    print(f"SAC updates/s at batch {args.batch_size}: ours {ours:.0f}, plain CleanRL-style {plain:.0f}")


if __name__ == "__main__":
    main(tyro.cli(Bench))
