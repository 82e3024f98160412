"""Randomly initialised CLIP-like models with the real architectures, built in code and saved like hub
checkpoints (no weights can be downloaded here). Their rewards mean nothing: tests use them for shapes,
plumbing and exact maths, the benchmark for speed."""

from pathlib import Path

WORDS = ["a", "humanoid", "robot", "kneeling", "standing", "pole", "cart", "car", "hill", "on", "top", "of", "the",
         "balanced", "lying", "down", "flag", "mountain"]
SMALL = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2, "num_hidden_layers": 2}
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]  # OpenAI CLIP's pixel mean and std, per RGB channel
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def tokenizer(max_length: int, eos_last: bool = False):
    """A byte-pair tokenizer over a small vocabulary: every letter (alone and word-final), the whole WORDS,
    and the special tokens (start 0, end 1, which also pads; `eos_last`: the end gets the highest id, as in CLIP's
    vocabulary, which transformers' X-CLIP needs: it embeds a sentence at its token of the highest id)."""
    from transformers import CLIPTokenizer

    letters = "abcdefghijklmnopqrstuvwxyz"
    tokens = ["<|startoftext|>", *([] if eos_last else ["<|endoftext|>"]), *letters, *(c + "</w>" for c in letters)]
    merges = []
    for word in WORDS:  # merge each word letter by letter into one token
        piece = word[0]
        for i, c in enumerate(word[1:], start=1):
            right = c + "</w>" if i == len(word) - 1 else c
            merges.append((piece, right))
            piece = piece + right
            tokens.append(piece)
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens + ["<|endoftext|>"]))}
    return CLIPTokenizer(vocab=vocab, merges=list(dict.fromkeys(merges)), pad_token="<|endoftext|>",
                         model_max_length=max_length)


def save_random_model(path, model_cls, config, processor, eos_last: bool = False) -> str:
    """Saves a model of `config` with random weights (seed 0), the tokenizer above and `processor`, as
    save_pretrained does for a hub checkpoint. The text config gets this vocabulary's special-token ids:
    CLIP reads its text embedding at the end-of-text token."""
    import torch

    tok = tokenizer(config.text_config.max_position_embeddings, eos_last)
    config.text_config.update({"vocab_size": max(len(tok), 256), "bos_token_id": tok.bos_token_id,
                               "eos_token_id": tok.eos_token_id, "pad_token_id": tok.eos_token_id})
    torch.manual_seed(0)
    model = model_cls(config).eval()
    Path(path).mkdir(parents=True, exist_ok=True)
    for part in (model, tok, processor):
        part.save_pretrained(path)
    return str(path)


def save_random_clip(path, config, image_mean=CLIP_MEAN, image_std=CLIP_STD) -> str:
    """A random CLIPModel of `config` whose image processor normalizes with `image_mean` and `image_std`
    (default: OpenAI's, as the hub's CLIP checkpoints do)."""
    from transformers import CLIPImageProcessor, CLIPModel

    size = config.vision_config.image_size
    processor = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size},
                                   image_mean=list(image_mean), image_std=list(image_std))
    return save_random_model(path, CLIPModel, config, processor)


def build_tiny_clip(path, image_mean=CLIP_MEAN, image_std=CLIP_STD) -> str:
    from transformers import CLIPConfig

    config = CLIPConfig(text_config={**SMALL, "max_position_embeddings": 32},
                        vision_config={**SMALL, "image_size": 32, "patch_size": 8}, projection_dim=16)
    return save_random_clip(path, config, image_mean, image_std)


def build_tiny_xclip(path, num_frames: int = 4, eos_last: bool = True) -> str:
    """A random X-CLIP (a video-text model: XCLIPModel, as microsoft/xclip-base-patch32) taking clips of
    `num_frames` frames of 32x32; its tokenizer's end token has the highest id unless `eos_last` is False."""
    from transformers import CLIPImageProcessor, XCLIPConfig, XCLIPModel

    config = XCLIPConfig(text_config={**SMALL, "max_position_embeddings": 32},
                         vision_config={**SMALL, "image_size": 32, "patch_size": 8, "num_frames": num_frames,
                                        "mit_hidden_size": 16, "mit_intermediate_size": 64, "mit_num_attention_heads": 2},
                         projection_dim=16, prompt_layers=1, prompt_num_attention_heads=2)
    processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
                                   image_mean=CLIP_MEAN, image_std=CLIP_STD)
    return save_random_model(path, XCLIPModel, config, processor, eos_last)


def build_tiny_siglip(path) -> str:
    """SigLIP pools its text at the last position and was trained on text padded to full length: the reward
    model pads SigLIP prompts to max_length."""
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    config = SiglipConfig(text_config={**SMALL, "max_position_embeddings": 16},
                          vision_config={**SMALL, "image_size": 32, "patch_size": 8})
    processor = SiglipImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    return save_random_model(path, SiglipModel, config, processor)


def smooth_frames(n=48, size=96, seed=0):
    """uint8 frames (n, size, size, 3) of smooth colour waves: like rendered scenes, unlike noise, they get a
    spread of rewards from any CLIP, so a precision scheme's error can be set against that spread."""
    import numpy as np

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    waves = [[np.sin(2 * np.pi * (a * xx + b * yy) + c) for a, b, c in rng.uniform(0, 3, (3, 3))] for _ in range(n)]
    return ((np.stack(waves).transpose(0, 2, 3, 1) * 0.5 + 0.5) * 255).astype(np.uint8)
