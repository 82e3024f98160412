"""Train a small CLIP on the project's own rendered frames, to show CLIP-rewarded RL working offline.

Pretrained CLIP weights cannot be downloaded on the project's machines, so this script makes its own:
frames of random CartPole or MountainCar states (its generated look), rendered as vlmrm_sac.py renders them, each
captioned from its state with a fixed set of sentences that include the paper's prompts exactly. A real
`transformers.CLIPModel`, shrunk, learns them contrastively and is saved like a hub checkpoint, so the
README's commands take it unchanged. One model per env (each normalizes pixels around its own background;
see ENVS) and two sizes:

    .venv/bin/python tests/mini_clip.py --env cartpole --size small --threads 1     # -> results/mini_clip/cartpole_small
    .venv/bin/python tests/mini_clip.py --env cartpole --size tiny --threads 1      # -> results/mini_clip/cartpole_tiny
    .venv/bin/python tests/mini_clip.py --env mountaincar --size small --threads 1  # -> results/mini_clip/mountaincar_small
    .venv/bin/python tests/mini_clip.py --env mountaincar --size tiny --threads 1 --seed 1   # -> results/mini_clip/mountaincar_tiny

    python vlmrm_sac.py --env-id CartPole-v1 --clip-model results/mini_clip/cartpole_small \
        --prompt "pole vertically upright on top of the cart" --baseline-prompt "pole and cart" --alpha 0.5 ...

The tiny models are committed (1.2 MB each, so that the test suite's CLIP-rewarded learning check needs no
training): with --threads 1 this script regenerates them bit for bit (the same sha256 of model.safetensors).
The small ones (5 MB each) are not committed: the commands above make them in about five minutes each on 2 cores.

The states are drawn from this script's seeded RNG, never from RL runs. At the end the saved model is
loaded through vlmrm_sac.CLIPReward and evaluated on held-out states (a second RNG stream): zero-shot
caption accuracy, Spearman correlation of the reward with the true progress, mean reward by bin. The
numbers are printed and written to <out>/eval.json.
"""

import json
import math
import os
import random
import re
import sys
import time
from dataclasses import asdict, dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from types import SimpleNamespace
from typing import Literal, Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # import vlmrm_sac, plot

import numpy as np
import torch
import torch.nn.functional as F
import tyro
from tqdm import tqdm
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer
from transformers.utils import logging

logging.disable_progress_bar()

import plot
import vlmrm_sac as vs
from tiny_models import CLIP_MEAN, CLIP_STD


# ======================================================================================
# Args
# ======================================================================================


@dataclass
class Args:
    env: Literal["cartpole", "mountaincar"] = "cartpole"
    """the env whose frames the model learns: CartPole-v1 or MountainCarContinuous-v0 (the generated look)"""
    size: Literal["small", "tiny", "base"] = "small"
    """model size: small (~1.3M parameters), tiny (~0.3M) or base (~6M); see SIZES"""
    out: Optional[str] = None
    """directory to save the model, tokenizer, image processor and eval.json to (default: results/mini_clip/{env}_{size})"""
    seed: int = 0
    """seeds the training states, the captions, the initial weights and the batch order; the held-out states use a second stream of it"""
    threads: int = 2
    """torch CPU threads; a run repeats bit for bit at the same count, not across counts"""
    frames: Optional[int] = None
    """training frames (default: the env's, see ENVS)"""
    eval_frames: int = 1_000
    """held-out frames for the evaluation"""
    epochs: int = 8
    """passes over the training frames"""
    batch_size: int = 128
    """frames per contrastive batch"""
    lr: Optional[float] = None
    """peak AdamW learning rate of the image tower and the logit scale (default: the env's, see ENVS)"""
    text_lr: Optional[float] = None
    """peak AdamW learning rate of the text tower (default: a tenth of --lr): at full speed its few sentences
    all collapse onto the average image before the image tower has learned to tell frames apart"""
    weight_decay: float = 0.05
    """AdamW weight decay (weight matrices only)"""
    warmup: float = 0.05
    """share of the steps with a linear warm-up, before the cosine decay to 0"""
    generic_share: float = 0.1
    """share of frames captioned with the env's generic sentence, the paper's baseline prompt"""


# ======================================================================================
# Model sizes and captions: a fixed sentence per state class, the paper's goal and baseline prompts among them
# ======================================================================================

IMAGE_SIZE, PATCH_SIZE, MAX_TOKENS = 64, 16, 32  # 16-pixel patches: smaller ones train slower per step and learn slower
SIZES = {  # (hidden, MLP width, heads, layers) of each tower, and the shared embedding width
    "small": dict(vision=(128, 512, 4, 4), text=(128, 512, 4, 2), projection_dim=64),
    "tiny": dict(vision=(64, 256, 2, 3), text=(64, 256, 2, 2), projection_dim=32),
    "base": dict(vision=(256, 1024, 8, 6), text=(128, 512, 4, 2), projection_dim=128),  # ~5x small's parameters
}

CARTPOLE_GOAL, CARTPOLE_BASELINE = vs.PAPER_PROMPTS["CartPole"]
MOUNTAINCAR_GOAL, MOUNTAINCAR_BASELINE = vs.PAPER_PROMPTS["MountainCarContinuous"]
POLE = [(0.05, CARTPOLE_GOAL), (0.12, "pole slightly tilted to the {side}"), (0.25, "pole tilted to the {side}"),
        (0.5, "pole leaning far to the {side}"), (1.8, "pole fallen to the {side}"),
        (math.inf, "pole hanging down to the {side}")]  # (upper edge of |angle| in rad, sentence)
CART = [(-0.8, "and cart on the left side"), (0.8, "and cart in the middle"), (math.inf, "and cart on the right side")]
CAR = [(-0.8, "a car on the left slope"), (-0.25, "a car at the bottom of the valley"),
       (0.2, "a car on the right slope, far from the flag"), (vs.MOUNTAINCAR_GOAL, "a car on the right slope, near the flag"),
       (math.inf, MOUNTAINCAR_GOAL)]  # (upper edge of position, sentence); x >= 0.45 is the paper's goal
# Per env: gym id, goal and baseline (the paper's prompts), every class sentence, default training frames,
# learning rate, and the pixel mean. The mean is the frames' background: the pole or car covers a few pixels
# of a patch, and each patch embedding is layer-normalized, so the background must be near 0 for them to
# register. CartPole's is white; MountainCar's landscape has no single colour and CLIP's mean suits it. Two
# backgrounds need two means, hence one model per env. MountainCar's lr is half CartPole's: at CartPole's,
# its loss can spike early and the model end far less accurate.
ENVS = {
    "cartpole": SimpleNamespace(
        id="CartPole-v1", goal=CARTPOLE_GOAL, baseline=CARTPOLE_BASELINE, frames=12_000, lr=2e-3,
        mean=[1.0, 1.0, 1.0],
        classes=[CARTPOLE_GOAL] + [s.format(side=side) for _, s in POLE[1:] for side in ("left", "right")]),
    "mountaincar": SimpleNamespace(
        id="MountainCarContinuous-v0", goal=MOUNTAINCAR_GOAL, baseline=MOUNTAINCAR_BASELINE, frames=6_000, lr=1e-3,
        mean=CLIP_MEAN, classes=[s for _, s in CAR]),
}


def first_above(edges, value) -> str:
    return next(sentence for edge, sentence in edges if value < edge)


def state_class(env: str, state) -> str:
    """The sentence that describes a state: CartPole (x, x_dot, theta, theta_dot), MountainCar (x, v)."""
    if env == "cartpole":
        theta = (state[2] + math.pi) % (2 * math.pi) - math.pi  # the paper's CartPole wraps the angle
        return first_above(POLE, abs(theta)).format(side="right" if theta > 0 else "left")  # theta > 0 leans right
    return first_above(CAR, state[0])


def caption(env: str, state, rng, generic_share: float) -> str:
    """The class sentence; for a share of frames the generic one instead, and for half of CartPole's
    the cart's place added (so the bare goal sentence, which has no place, stays place-free)."""
    if rng.random() < generic_share:
        return ENVS[env].baseline
    if env == "cartpole" and rng.random() < 0.5:
        return f"{state_class(env, state)} {first_above(CART, state[0])}"
    return state_class(env, state)


def sample_states(env: str, n: int, rng, held_at_flag: float = 0.0) -> np.ndarray:
    """Random states at rest. CartPole: cart anywhere on the track, the angle uniform within +-0.3, +-1 or
    +-pi rad (a third each: near upright matters most, and the paper's never-ending episodes visit fallen
    poles). MountainCar: uniform over the track, a share `held_at_flag` exactly at the flag (x = 0.45),
    where the paper's car is capped once it gets there."""
    if env == "cartpole":
        theta = rng.uniform(-1, 1, n) * rng.choice([0.3, 1.0, math.pi], n)
        return np.stack([rng.uniform(-2.4, 2.4, n), np.zeros(n), theta, np.zeros(n)], 1)
    x = np.where(rng.random(n) < held_at_flag, vs.MOUNTAINCAR_GOAL, rng.uniform(*vs.MOUNTAINCAR_X_RANGE, n))
    return np.stack([x, np.zeros(n)], 1)


def frames(env: str, states, chunk: int = 250):
    """Yields uint8 (chunk, 400, 600, 3) frames of `states`, rendered as vlmrm_sac.py renders the env."""
    for i in tqdm(range(0, len(states), chunk), desc=f"render {ENVS[env].id}", leave=False):
        yield plot.render_states(ENVS[env].id, states[i:i + chunk], look="generated")


# ======================================================================================
# Tokenizer and model
# ======================================================================================


def word_tokenizer(sentences, eos_last: bool = False) -> CLIPTokenizer:
    """A CLIP BPE tokenizer in which every word of `sentences` (and the comma) is one token. `eos_last`: the
    <|endoftext|> token gets the highest id, as in CLIP's own vocabulary (transformers' X-CLIP text model pools the
    token with the highest id; CLIPModel reads its config's eos_token_id).

    Each word is merged letter by letter from the left. BPE merges the lowest-ranked pair first, so a
    word stays whole only if its first merge outranks every other word's first merge found further inside
    it (else 'fallen' would merge its 'le' first, as 'left' does): those first merges are ranked by a
    topological sort, and all later merges, which need a multi-letter piece, rank before them."""
    words = sorted({w for s in sentences for w in re.findall(r"[a-z]+|,", s)})
    pieces = {w: [*w[:-1], w[-1] + "</w>"] for w in words}
    chains = {w: [("".join(p[:i]), p[i]) for i in range(1, len(p))] for w, p in pieces.items()}
    first = sorted({chain[0] for chain in chains.values() if chain})  # sorted, like every set here: a set's
    after = {pair: set() for pair in first}  # order changes with PYTHONHASHSEED, and with it the token ids
    for w, p in pieces.items():  # after: pair -> the first merges that must rank before it
        for pair in zip(p[1:], p[2:]):
            if pair in after and pair != chains[w][0]:
                after[pair].add(chains[w][0])
    ranked = TopologicalSorter({pair: sorted(before) for pair, before in after.items()}).static_order()
    merges = list(dict.fromkeys([m for c in chains.values() for m in c[1:]] + list(ranked)))
    specials = ["<|startoftext|>"] + ([] if eos_last else ["<|endoftext|>"])
    tokens = specials + sorted({c for p in pieces.values() for c in p}) + ["".join(m) for m in merges]
    tokens += ["<|endoftext|>"] if eos_last else []
    tokenizer = CLIPTokenizer(vocab={t: i for i, t in enumerate(dict.fromkeys(tokens))}, merges=merges,
                              pad_token="<|endoftext|>", model_max_length=MAX_TOKENS)
    split = [w for w in words if len(tokenizer(w, add_special_tokens=False).input_ids) != 1]
    if split:
        raise SystemExit(f"error: the tokenizer splits {split} into several tokens: fix word_tokenizer's merge order")
    return tokenizer


def build_model(size: str, tokenizer, image_size: int = IMAGE_SIZE) -> CLIPModel:
    def tower(hidden, mlp, heads, layers):
        return dict(hidden_size=hidden, intermediate_size=mlp, num_attention_heads=heads, num_hidden_layers=layers)

    s = SIZES[size]
    special = tokenizer.convert_tokens_to_ids(["<|startoftext|>", "<|endoftext|>"])
    config = CLIPConfig(  # the text embedding is read at the end-of-text token: this vocabulary's ids
        text_config={**tower(*s["text"]), "vocab_size": len(tokenizer), "max_position_embeddings": MAX_TOKENS,
                     "bos_token_id": special[0], "eos_token_id": special[1], "pad_token_id": special[1]},
        vision_config={**tower(*s["vision"]), "image_size": image_size, "patch_size": PATCH_SIZE},
        projection_dim=s["projection_dim"])
    return CLIPModel(config)


def reward_preprocess(frames_uint8, mean, size: int = IMAGE_SIZE) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> (N, 3, size, size) float32, by the reward's own preprocessing (vlmrm_sac.preprocess_frames),
    so training sees exactly the pixels the reward will: the whole frame squashed to size x size, then normalized."""
    return vs.preprocess_frames(frames_uint8, size, torch.tensor(mean).view(3, 1, 1),
                                torch.tensor(CLIP_STD).view(3, 1, 1), "cpu")


# ======================================================================================
# Training: symmetric InfoNCE over the batch's unique captions
# ======================================================================================


def clip_loss(model, pixels, caption_ids, tokens) -> torch.Tensor:
    """Plain CLIP loss would count a copy of an image's caption in the batch as a negative. Here the
    logits are images x unique captions: each image has one right caption, and each caption's target is
    spread evenly over the images that carry it."""
    unique, which = torch.unique(caption_ids, return_inverse=True)  # (U,), (B,)
    image = F.normalize(vs.features(model.get_image_features(pixel_values=pixels)), dim=-1)  # (B, D)
    text = F.normalize(vs.features(model.get_text_features(input_ids=tokens.input_ids[unique],
                                                           attention_mask=tokens.attention_mask[unique])), dim=-1)  # (U, D)
    logits = model.logit_scale.exp() * image @ text.T  # (B, U)
    carries = F.one_hot(which, len(unique)).float()  # (B, U)
    return (F.cross_entropy(logits, which) + F.cross_entropy(logits.T, (carries / carries.sum(0)).T)) / 2


def train(args: Args, model, pixels, caption_ids, tokens):
    lr = args.lr or ENVS[args.env].lr
    text_lr = args.text_lr or lr / 10
    steps = args.epochs * math.ceil(len(pixels) / args.batch_size)
    text = {id(p) for p in [*model.text_model.parameters(), *model.text_projection.parameters()]}
    groups = [{"params": [p for p in model.parameters() if (id(p) in text) == is_text and (p.ndim >= 2) == decay],
               "lr": text_lr if is_text else lr, "weight_decay": args.weight_decay if decay else 0.0}
              for is_text in (False, True) for decay in (True, False)]  # no decay: biases, norms, logit_scale
    optimizer = torch.optim.AdamW(groups, betas=(0.9, 0.98))  # beta2 0.98 and gradient clipping as CLIP's
    # training: they keep a large early step from throwing away what the model has learned
    warmup = max(1, round(args.warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * s / steps)))
    generator = torch.Generator().manual_seed(args.seed)
    batches = [b for _ in range(args.epochs) for b in torch.randperm(len(pixels), generator=generator).split(args.batch_size)]
    model.train()
    bar = tqdm(batches, desc=f"train {args.size}")
    for batch in bar:
        loss = clip_loss(model, pixels[batch], caption_ids[batch], tokens)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            model.logit_scale.clamp_(max=math.log(100))  # CLIP's cap on the temperature
        bar.set_postfix(loss=f"{loss.item():.3f}", scale=f"{model.logit_scale.exp().item():.1f}")
    return model.eval()


# ======================================================================================
# Evaluation on held-out states, through vlmrm_sac.CLIPReward on the saved model
# ======================================================================================

BINS = {"cartpole": [0, 0.05, 0.12, 0.21, 0.5, 1.0, 1.8, 2.5, math.pi + 1e-9],  # |angle|, rad
        "mountaincar": [vs.MOUNTAINCAR_X_RANGE[0], -0.8, -0.5, -0.25, 0.0, 0.2, 0.35, vs.MOUNTAINCAR_GOAL,
                        vs.MOUNTAINCAR_X_RANGE[1] + 1e-9]}  # position; the last bin is the goal's


def spearman(a, b) -> float:
    ranks = [np.argsort(np.argsort(v)) for v in (a, b)]  # continuous values: no ties
    return float(np.corrcoef(*ranks)[0, 1])


def evaluate(path: str, env: str, states) -> dict:
    """Zero-shot accuracy over the class sentences, and the goal-baseline reward against the true progress
    (-|angle| for CartPole, the position for MountainCar): Spearman correlation and mean per bin."""
    e = ENVS[env]
    reward = vs.CLIPReward(path, [e.goal], [e.baseline], alpha=0.5)
    image = torch.cat([reward.embed_images(f) for f in frames(env, states)])  # (N, D)
    truth = np.array([e.classes.index(state_class(env, s)) for s in states])
    accuracy = float(((image @ reward.embed_text(e.classes).T).argmax(1).numpy() == truth).mean())
    progress = -np.abs((states[:, 2] + np.pi) % (2 * np.pi) - np.pi) if env == "cartpole" else states[:, 0]
    bin_of = np.digitize(-progress if env == "cartpole" else progress, BINS[env]) - 1
    result = {"accuracy": accuracy, "classes": len(e.classes)}
    for alpha in (0.0, 0.5):
        r = vs.goal_baseline_reward(image, reward.goal_emb, reward.baseline_emb, alpha).numpy()
        result[f"spearman_alpha{alpha}"] = spearman(r, progress)
        if env == "cartpole":
            near = progress > -0.21  # the angles the pole lives in while balanced
            result[f"spearman_alpha{alpha}_upright_0.21"] = spearman(r[near], progress[near])
        result[f"reward_by_bin_alpha{alpha}"] = [float(r[bin_of == b].mean()) for b in range(len(BINS[env]) - 1)]
    result["bins"] = [round(b, 3) for b in BINS[env]]
    result["frames_per_bin"] = [int((bin_of == b).sum()) for b in range(len(BINS[env]) - 1)]
    return result


# ======================================================================================
# Entry point
# ======================================================================================


def main(args: Args):
    e = ENVS[args.env]
    out = Path(args.out or ROOT / "results" / "mini_clip" / f"{args.env}_{args.size}")
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    train_rng, eval_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(args.seed).spawn(2))
    start = time.time()

    # Data: states -> captions, and frames -> the reward's preprocessing, cached small (N, 3, 64, 64)
    states = sample_states(args.env, args.frames or e.frames, train_rng, held_at_flag=0.15)
    captions = [caption(args.env, s, train_rng, args.generic_share) for s in states]
    pixels = torch.cat([reward_preprocess(f, e.mean) for f in frames(args.env, states)])
    sentences = sorted(set(captions))
    missing = {e.goal, e.baseline, *e.classes} - set(sentences)
    if missing:
        raise SystemExit(f"error: no training frame carries {sorted(missing)}: render more frames")
    caption_ids = torch.tensor([sentences.index(c) for c in captions])
    tokenizer = word_tokenizer(sentences)
    tokens = tokenizer(sentences, padding=True, return_tensors="pt")
    render_s = time.time() - start

    model = build_model(args.size, tokenizer)
    params = sum(p.numel() for p in model.parameters())
    print(f"{len(pixels)} frames ({render_s:.0f} s), {len(sentences)} captions, {len(tokenizer)} tokens, {params:,} parameters")
    train(args, model, pixels, caption_ids, tokens)
    train_s = time.time() - start - render_s

    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
                       image_mean=e.mean, image_std=CLIP_STD).save_pretrained(out)

    # The saved model loads offline as a reward and, with the mean and std it saved, sees the pixels training saw
    reward = vs.CLIPReward(str(out), [e.goal], [e.baseline], alpha=0.5)
    if not torch.equal(reward.preprocess(next(frames(args.env, states[:8]))).float(), pixels[:8]):
        raise SystemExit("error: the saved model's preprocessing differs from training's: check the saved image processor")

    results = {"args": asdict(args), "parameters": params, "render_s": render_s, "train_s": train_s,
               "model_mb": (out / "model.safetensors").stat().st_size / 2**20,
               **evaluate(str(out), args.env, sample_states(args.env, args.eval_frames, eval_rng))}
    (out / "eval.json").write_text(json.dumps(results, indent=1))

    r = results
    print(f"\n{e.id} {args.size}: {params:,} parameters, {r['model_mb']:.2f} MB, render {render_s:.0f} s, "
          f"train {train_s:.0f} s on {args.threads} thread(s); saved to {out}")
    print(f"zero-shot accuracy {r['accuracy']:.3f} over {r['classes']} classes; Spearman with "
          f"{'-|angle|' if args.env == 'cartpole' else 'position'}: " +
          ", ".join(f"{k.removeprefix('spearman_')} {v:.3f}" for k, v in r.items() if k.startswith("spearman")))
    print(f"{'|angle| bin' if args.env == 'cartpole' else 'position bin':>14}: " +
          " ".join(f"{a:>5.2f}-{b:<5.2f}" for a, b in zip(r["bins"], r["bins"][1:])))
    for alpha in (0.0, 0.5):
        print(f"{f'alpha {alpha}':>14}: " + " ".join(f"{v:>11.3f}" for v in r[f"reward_by_bin_alpha{alpha}"]))


if __name__ == "__main__":
    main(tyro.cli(Args))
