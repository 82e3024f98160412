"""Shared test setup: offline, headless, and a tiny CLIP built in code (no weights can be downloaded)."""

import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # import vlmrm_sac, plot

import pytest

WORDS = ["a", "humanoid", "robot", "kneeling", "standing", "pole", "cart", "car", "hill", "on", "top", "of", "the",
         "balanced", "lying", "down", "flag", "mountain"]


def build_tiny_clip(path) -> str:
    """A randomly initialised CLIP with the real architecture, shrunk. Its rewards mean nothing; tests
    use it for shapes, plumbing and exact maths only."""
    from transformers import CLIPConfig

    config = CLIPConfig(
        text_config={"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2, "num_hidden_layers": 2,
                     "max_position_embeddings": 32},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2, "num_hidden_layers": 2,
                       "image_size": 32, "patch_size": 8},
        projection_dim=16,
    )
    return save_random_clip(path, config)


def save_random_clip(path, config) -> str:
    """Saves a CLIP of `config` with random weights (seed 0) like a hub checkpoint: the model
    (save_pretrained), a BPE tokenizer built from a small vocabulary, and an image-processor config."""
    import torch
    from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizer

    # Byte-pair vocabulary: every letter (alone and word-final), whole words, and the special tokens.
    letters = "abcdefghijklmnopqrstuvwxyz"
    tokens = ["<|startoftext|>", "<|endoftext|>", *letters, *(c + "</w>" for c in letters)]
    merges = []
    for word in WORDS:  # merge each word letter by letter into one token
        piece = word[0]
        for i, c in enumerate(word[1:], start=1):
            right = c + "</w>" if i == len(word) - 1 else c
            merges.append((piece, right))
            piece = piece + right
            tokens.append(piece)
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
    # the text embedding is read at the end-of-text token: give the config this vocabulary's ids
    config.text_config.update({"vocab_size": max(len(vocab), 256), "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1})
    torch.manual_seed(0)
    model = CLIPModel(config).eval()
    tokenizer = CLIPTokenizer(vocab=vocab, merges=list(dict.fromkeys(merges)), pad_token="<|endoftext|>")
    size = config.vision_config.image_size
    processor = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size},
                                   image_mean=[0.48145466, 0.4578275, 0.40821073],
                                   image_std=[0.26862954, 0.26130258, 0.27577711])
    Path(path).mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    processor.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> str:
    return build_tiny_clip(tmp_path_factory.mktemp("tiny_clip"))
