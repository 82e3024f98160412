"""Train a small X-CLIP (video-text) and a small single-frame CLIP on the same captioned Pendulum clips: the models
of a toy world for the spin experiment of --reward-frames (no pretrained video model can be downloaded here).

Clips of K frames (the reward's window: the frames of the states reached by K steps) start from random states of
Pendulum-v1, rendered as vlmrm_sac.py renders it (without the torque arrow), pushed by random torques. Each is
captioned by how the pendulum turns over the clip: "a pendulum spinning clockwise" or "... counterclockwise"
(mean angular velocity beyond --spin, in rad/s; clockwise on the screen is a negative velocity), "a pendulum at
rest" (within --rest) or, for a share of them, the generic "a pendulum". The X-CLIP learns the clips; the CLIP, the
same captions on each clip's last frame only, which cannot show the direction of motion: the control. Each model
first has a warm-up (see warm_up) in which its frames' embeddings also learn the pendulum's angle from the state:
without it the X-CLIP did not learn the direction here. So the captions are not all it learns from.

    .venv/bin/python tests/mini_xclip.py --threads 1     # -> results/mini_clip/pendulum_xclip_tiny, pendulum_clip_tiny

With --threads 1 it regenerates both models bit for bit (two runs gave the same sha256 of model.safetensors),
in about 4 minutes of rendering, 8 of training the X-CLIP and 2 of the CLIP on one thread of the project's CPU.

Held-out clips then measure each saved model through vlmrm_sac.CLIPReward (score_episode on the clip's frames):
how often the goal "spinning clockwise" outscores "spinning counterclockwise" on clockwise clips and the reverse
on counterclockwise ones; written to <out>/eval.json.
"""

import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import tyro  # noqa: E402
from tqdm import tqdm  # noqa: E402
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, XCLIPConfig, XCLIPModel  # noqa: E402

import vlmrm_sac as vs  # noqa: E402
from mini_clip import word_tokenizer  # noqa: E402
from tiny_models import CLIP_STD  # noqa: E402

CLOCKWISE, COUNTERCLOCKWISE = "a pendulum spinning clockwise", "a pendulum spinning counterclockwise"
REST, GENERIC = "a pendulum at rest", "a pendulum"
IMAGE_SIZE, PATCH_SIZE, MAX_TOKENS = 64, 8, 32  # 8-pixel patches: the rod's turn between frames is a few pixels
TOWER = dict(hidden_size=64, intermediate_size=256, num_attention_heads=2)


@dataclass
class Args:
    frames: int = 4
    """K: frames per clip, the X-CLIP's clip length (run it with --reward-frames K)"""
    clips: int = 8000
    """clips rendered for training (those between --rest and --spin are left out)"""
    eval_clips: int = 600
    """held-out clips"""
    spin: float = 3.0
    """|mean angular velocity| (rad/s) from which a clip is spinning: at 3 rad/s the rod turns 0.15 rad a step, its
    tip about 2 pixels of the 64 (at 1.5 rad/s, 1 pixel, and a classifier trained on the direction alone stayed near
    chance)"""
    rest: float = 0.3
    """|mean angular velocity| (rad/s) under which a clip is at rest"""
    generic_share: float = 0.1
    """share of clips captioned with the generic sentence (the baseline prompt)"""
    epochs: int = 6
    batch_size: int = 64
    lr: float = 1e-3
    """peak AdamW learning rate of the image (video) tower; the text tower's is a tenth (its few sentences
    otherwise move faster than the video embeddings can follow)"""
    warmup: float = 0.05
    """share of the steps over which the learning rate rises linearly to its peak (then a cosine decay)"""
    warm_epochs: int = 6
    """epochs of the image side alone (the captions and each frame's angle) before the contrastive training (see
    warm_up)"""
    warm_lr: float = 1e-3
    """peak AdamW learning rate of the warm-up (the same warm-up and cosine decay as the contrastive training)"""
    seed: int = 0
    threads: int = 2
    """torch CPU threads"""
    out: str = str(ROOT / "results" / "mini_clip")
    """the models go to <out>/pendulum_xclip_tiny and <out>/pendulum_clip_tiny"""


def sample_clips(args: Args, n: int, rng):
    """(frames uint8 (n, K, 500, 500, 3) as 64x64 preprocessed later, mean angular velocities (n,)). Each clip starts
    from a random state with a random speed; random torques push it."""
    env = vs.make_env("Pendulum-v1")
    env.reset(seed=int(rng.integers(2**31)))
    clips, speeds, poses = [], [], []
    for _ in tqdm(range(n), desc="render clips", leave=False):
        env.unwrapped.state = np.array([rng.uniform(-math.pi, math.pi), rng.uniform(-8, 8)])
        frames, omegas, angles = [], [], []
        for _ in range(args.frames):
            obs = env.step(rng.uniform(-1, 1, 1).astype(np.float32))[0]
            frames.append(vs.preprocess_frames(env.render()[None], IMAGE_SIZE, torch.zeros(3, 1, 1),
                                               torch.ones(3, 1, 1), "cpu")[0])
            omegas.append(obs[2])
            angles.append(obs[:2])  # cos, sin of the angle
        clips.append(torch.stack(frames))
        speeds.append(float(np.mean(omegas)))
        poses.append(np.stack(angles))
    env.close()
    return torch.stack(clips), np.array(speeds), torch.tensor(np.stack(poses))  # (n, K, 3, 64, 64) in [0, 1]; (n, K, 2)


def caption(speed: float, args: Args, rng):
    if rng.random() < args.generic_share:
        return GENERIC
    if speed <= -args.spin:
        return CLOCKWISE
    if speed >= args.spin:
        return COUNTERCLOCKWISE
    return REST if abs(speed) < args.rest else None  # in between: not captioned, left out


def contrastive_loss(scores, caption_ids, scale):
    """Each clip against the batch's unique captions; a caption's target spread over the clips that carry it."""
    unique, which = torch.unique(caption_ids, return_inverse=True)
    logits = scale * scores(unique)  # (B, U) cosines, scaled
    carries = F.one_hot(which, len(unique)).float()
    return (F.cross_entropy(logits, which) + F.cross_entropy(logits.T, (carries / carries.sum(0)).T)) / 2


def embed(model, x, video: bool, frames: bool = False):
    """The image side's embedding of a batch (B, K, 3, S, S): X-CLIP's video embedding (its image encoder, projection
    and multi-frame integration transformer, as vlmrm_sac.CLIPReward scores a window); CLIP's, of the last frame.
    frames: also each frame's own projected embedding (B, K, D); CLIP's, (B, 1, D) of the last frame."""
    if not video:
        image = vs.features(model.get_image_features(pixel_values=x[:, -1]))
        return (image, image[:, None]) if frames else image
    per_frame = model.visual_projection(model.vision_model(pixel_values=x.flatten(0, 1)).pooler_output).view(*x.shape[:2], -1)
    video = model.mit(per_frame).pooler_output
    return (video, per_frame) if frames else video


def batches_and_schedule(optimizer, n: int, epochs: int, args: Args, seed: int):
    """The batches of `epochs` shuffled passes over n clips, and the learning rate's schedule over them: a linear
    rise over --warmup of the steps, then a cosine decay."""
    generator = torch.Generator().manual_seed(seed)
    batches = [b for _ in range(epochs) for b in torch.randperm(n, generator=generator).split(args.batch_size)]
    warmup = max(1, int(args.warmup * len(batches)))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * s / len(batches))))
    return batches, schedule


def warm_up(model, pixels, caption_ids, poses, args: Args, video: bool):
    """--warm-epochs of the image side alone, before the contrastive training: each frame's projected embedding
    regresses its pendulum's angle (cos, sin: a linear head) and the clip's embedding classifies its caption (a
    linear head on its unit embedding); both heads are thrown away. The angle is the state's (the observation's
    cos and sin), a supervision beyond the captions. Without it, on the captions alone, the X-CLIP did not learn the
    direction within this budget: contrastively for 12 epochs at --lr 2e-3 (held-out accuracy 56.6%; at 1e-3 the
    loss had not moved after 10), nor by this classification alone (its loss stayed at the captions' entropy for
    6 epochs, and for the first 6 of 8 of a longer try, stopped there);
    the direction needs each frame's angle, which nothing asks the frames to encode until the direction is learned.
    (A binary direction classifier on the spinning clips alone did once learn it suddenly in its third epoch.)
    The CLIP control gets the same warm-up on its one frame: it learns the angle, which does not tell the direction."""
    head = torch.nn.Linear(model.config.projection_dim, int(caption_ids.max()) + 1)
    angle = torch.nn.Linear(model.config.projection_dim, 2)
    params = [*[p for n, p in model.named_parameters() if n.startswith(("vision_model", "visual_projection", "mit"))],
              *head.parameters(), *angle.parameters()]
    optimizer = torch.optim.AdamW(params, lr=args.warm_lr, weight_decay=0.05, betas=(0.9, 0.98))
    batches, schedule = batches_and_schedule(optimizer, len(pixels), args.warm_epochs, args, seed=args.seed + 1)
    model.train()
    bar = tqdm(batches, desc="warm up " + ("X-CLIP" if video else "CLIP"))
    for batch in bar:
        clip, per_frame = embed(model, pixels[batch], video, frames=True)
        target = poses[batch] if video else poses[batch][:, -1:]
        pose_loss = F.mse_loss(angle(per_frame), target)
        loss = F.cross_entropy(head(10 * F.normalize(clip, dim=-1)), caption_ids[batch]) + pose_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        bar.set_postfix(loss=f"{loss.item():.3f}", angle=f"{pose_loss.item():.3f}")


def train(model, pixels, caption_ids, poses, tokens, args: Args, video: bool):
    if args.warm_epochs:
        warm_up(model, pixels, caption_ids, poses, args, video)
    text = {id(p) for p in [*model.text_model.parameters(), *model.text_projection.parameters()]}
    groups = [{"params": [p for p in model.parameters() if (id(p) in text) == is_text], "lr": args.lr / (10 if is_text else 1)}
              for is_text in (False, True)]
    optimizer = torch.optim.AdamW(groups, weight_decay=0.05, betas=(0.9, 0.98))
    batches, schedule = batches_and_schedule(optimizer, len(pixels), args.epochs, args, seed=args.seed)
    model.train()
    bar = tqdm(batches, desc="train " + ("X-CLIP" if video else "CLIP"))
    for batch in bar:
        x, ids = pixels[batch], caption_ids[batch]

        def scores(unique):
            t = dict(input_ids=tokens.input_ids[unique], attention_mask=tokens.attention_mask[unique])
            if video:
                out = model(pixel_values=x, **t)
                return out.logits_per_video / model.logit_scale.exp()
            image = F.normalize(embed(model, x, video=False), dim=-1)
            return image @ F.normalize(vs.features(model.get_text_features(**t)), dim=-1).T

        loss = contrastive_loss(scores, ids, model.logit_scale.exp())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            model.logit_scale.clamp_(max=math.log(100))
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return model.eval()


def direction_accuracy(path: str, clips_uint8, speeds, args: Args) -> dict:
    """Through the reward as a run computes it: the share of held-out spinning clips on which the right direction's
    sentence outscores the other (each clip's last window, which ends with its last frame)."""
    reward = vs.CLIPReward(path, [CLOCKWISE], log_prompts=[COUNTERCLOCKWISE], reward_frames=args.frames if "xclip" in path else 1)
    right = []
    for clip, speed in zip(clips_uint8, speeds):
        if abs(speed) < args.spin:
            continue
        scores = reward.score_episode(clip)[-1]  # (reward of clockwise, reward of counterclockwise, vote)
        right.append(bool(scores[0] > scores[1]) == bool(speed < 0))
    return {"direction_accuracy": float(np.mean(right)), "spinning_clips": len(right)}


def main(args: Args):
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    train_rng, eval_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(args.seed).spawn(2))
    start = time.time()
    clips, speeds, poses = sample_clips(args, args.clips, train_rng)
    captions = [caption(s, args, train_rng) for s in speeds]
    keep = [i for i, c in enumerate(captions) if c is not None]
    clips, poses, captions = clips[keep], poses[keep], [captions[i] for i in keep]
    sentences = [CLOCKWISE, COUNTERCLOCKWISE, REST, GENERIC]
    caption_ids = torch.tensor([sentences.index(c) for c in captions])
    mean = clips.mean((0, 1, 3, 4)).tolist()  # the frames' own mean colour (mostly the white background)
    pixels = (clips - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(CLIP_STD).view(3, 1, 1)
    # X-CLIP's text model pools the token with the highest id: it must be the end, after the direction word
    tokenizer = word_tokenizer(sentences, eos_last=True)
    tokens = tokenizer(sentences, padding=True, return_tensors="pt")
    print(f"{len(clips)} clips of {args.frames} frames ({time.time() - start:.0f} s): " +
          ", ".join(f"{s!r} {captions.count(s)}" for s in sentences))
    special = tokenizer.convert_tokens_to_ids(["<|startoftext|>", "<|endoftext|>"])
    text = {**TOWER, "num_hidden_layers": 2, "vocab_size": len(tokenizer), "max_position_embeddings": MAX_TOKENS,
            "bos_token_id": special[0], "eos_token_id": special[1], "pad_token_id": special[1]}
    vision = {**TOWER, "num_hidden_layers": 3, "image_size": IMAGE_SIZE, "patch_size": PATCH_SIZE}
    models = {
        "pendulum_xclip_tiny": XCLIPModel(XCLIPConfig(
            text_config=text, vision_config={**vision, "num_frames": args.frames, "mit_hidden_size": 32,
                                             "mit_intermediate_size": 128, "mit_num_attention_heads": 2},
            projection_dim=32, prompt_layers=1, prompt_num_attention_heads=2)),
        "pendulum_clip_tiny": CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=32)),
    }
    held_out = sample_clips(args, args.eval_clips, eval_rng)
    held_frames = (held_out[0] * 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2)  # the 64x64 frames, as uint8
    results = {}
    for name, model in models.items():
        t0 = time.time()
        train(model, pixels, caption_ids, poses, tokens, args, video=name.startswith("pendulum_xclip"))
        out = Path(args.out) / name
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
                           image_mean=mean, image_std=CLIP_STD).save_pretrained(out)
        result = {"args": asdict(args), "train_s": time.time() - t0,
                  "parameters": sum(p.numel() for p in model.parameters()),
                  **direction_accuracy(str(out), held_frames, held_out[1], args)}
        (out / "eval.json").write_text(json.dumps(result, indent=1))
        results[name] = result
        print(f"{name}: {result['parameters']:,} parameters, trained in {result['train_s']:.0f} s; the right direction "
              f"outscores the other on {result['direction_accuracy']:.1%} of {result['spinning_clips']} held-out spinning clips")


if __name__ == "__main__":
    main(tyro.cli(Args))
