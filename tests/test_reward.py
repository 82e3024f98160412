"""The CLIP reward: goal-baseline projection maths, loading a CLIP by path offline, preprocessing, bad input."""


import numpy as np
import pytest
import torch
import torch.nn.functional as F

import vlmrm_sac as vs
from tiny_models import CLIP_MEAN, CLIP_STD, build_tiny_clip, smooth_frames


# --- the projection, against the paper's formula with the explicit matrix P


def explicit_reward(x, g, b, alpha):
    """The paper's r = 1 - 0.5 ||(x - g) P||^2 with P built as a D x D matrix, in float64."""
    x = F.normalize(x.double(), dim=-1)
    g, b = g.double(), b.double()
    d = g - b
    P = alpha * torch.outer(d, d) / d.dot(d) + (1 - alpha) * torch.eye(len(d), dtype=torch.float64)
    return 1 - 0.5 * ((x - g) @ P).pow(2).sum(-1)


def random_embeddings(n=64, dim=48, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=gen) * 3  # not normalized: the reward normalizes the images
    g = F.normalize(torch.randn(dim, generator=gen), dim=0)
    b = F.normalize(torch.randn(dim, generator=gen), dim=0)
    return x, g, b


@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_reward_equals_the_explicit_projection_matrix_formula(alpha):
    x, g, b = random_embeddings()
    ours = vs.goal_baseline_reward(x, g, b, alpha)
    assert ours.shape == (64,)
    torch.testing.assert_close(ours.double(), explicit_reward(x, g, b, alpha), atol=1e-5, rtol=0)


def test_reward_with_averaged_prompt_embeddings_that_are_not_unit_norm():
    x, g, b = random_embeddings(seed=1)
    g2, b2 = 0.6 * g, 0.8 * b  # means of several unit vectors are shorter than 1
    torch.testing.assert_close(vs.goal_baseline_reward(x, g2, b2, 0.4).double(), explicit_reward(x, g2, b2, 0.4),
                               atol=1e-5, rtol=0)


def test_alpha_zero_is_cosine_similarity_with_the_goal():
    x, g, b = random_embeddings(seed=2)
    torch.testing.assert_close(vs.goal_baseline_reward(x, g, b, 0.0), F.cosine_similarity(x, g[None], dim=-1),
                               atol=1e-6, rtol=0)


def test_alpha_one_ignores_moves_orthogonal_to_the_goal_baseline_direction():
    """At alpha 1, an image embedding that moves orthogonally to d = g - b (staying unit norm, as the
    reward normalizes) keeps its reward; at alpha < 1 the same move changes it."""
    _, g, b = random_embeddings(seed=4)
    d = F.normalize(g - b, dim=0)
    e = torch.randn(len(d))
    e = F.normalize(e - (e @ d) * d, dim=0)  # unit, orthogonal to d
    f = torch.randn(len(d))
    f = F.normalize(f - (f @ d) * d - (f @ e) * e, dim=0)  # unit, orthogonal to d and e
    c = 0.6
    x1, x2 = c * d + 0.8 * e, c * d + 0.8 * f  # unit norm; x2 is x1 moved orthogonally to d
    r = vs.goal_baseline_reward(torch.stack([x1, x2]), g, b, 1.0)
    torch.testing.assert_close(r[0], r[1], atol=1e-6, rtol=0)
    assert not torch.isclose(vs.goal_baseline_reward(torch.stack([x1, x2]), g, b, 0.5), r[0]).all()


def test_no_dense_matrix_is_built():
    """At D = 200,000 a D x D float32 matrix would take 160 GB, so the reward can only be computed without one:
    embeddings of D = 48 scattered into 200,000 coordinates (zeros elsewhere, so every dot product and norm is
    kept) must get the rewards of the explicit formula at D = 48."""
    small, big = 48, 200_000
    x, g, b = random_embeddings(n=4, dim=small)
    where = torch.randperm(big, generator=torch.Generator().manual_seed(0))[:small]

    def scatter(v):
        out = v.new_zeros(*v.shape[:-1], big)
        out[..., where] = v
        return out

    ours = vs.goal_baseline_reward(scatter(x), scatter(g), scatter(b), 0.5)
    torch.testing.assert_close(ours.double(), explicit_reward(x, g, b, 0.5), atol=1e-5, rtol=0)


# --- CLIPReward with a tiny CLIP saved and loaded by path, offline


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (7, 40, 60, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def reward(tiny_clip):
    return vs.CLIPReward(tiny_clip, ["a humanoid robot kneeling"], ["a humanoid robot"], alpha=0.5, batch_size=3)


def test_rewards_have_the_right_shape_dtype_and_are_deterministic(reward, frames):
    r1, r2 = reward(frames), reward(frames)
    assert r1.shape == (7,) and r1.dtype == torch.float32
    torch.testing.assert_close(r1, r2, atol=0, rtol=0)
    assert r1.std() > 0  # different frames, different rewards
    torch.testing.assert_close(reward(torch.from_numpy(frames)), r1)  # torch frames work too


def test_reward_is_the_projection_of_the_model_embeddings(reward, frames, tiny_clip):
    from transformers import AutoModel, AutoTokenizer

    model, tok = AutoModel.from_pretrained(tiny_clip), AutoTokenizer.from_pretrained(tiny_clip)
    with torch.no_grad():
        text = lambda p: F.normalize(vs.features(model.get_text_features(**tok([p], return_tensors="pt"))), dim=-1)[0]
        image = vs.features(model.get_image_features(pixel_values=reward.preprocess(frames)))
    expected = explicit_reward(image, text("a humanoid robot kneeling"), text("a humanoid robot"), 0.5)
    torch.testing.assert_close(reward(frames).double(), expected, atol=1e-5, rtol=0)


def test_a_siglip_model_goes_through_the_same_reward_path(tiny_siglip, frames):
    """SigLIP (sigmoid loss, text pooled at the last position, prompts padded to full length) loads like CLIP and
    gives the same projection of its own embeddings."""
    from transformers import AutoModel, AutoTokenizer

    reward = vs.CLIPReward(tiny_siglip, ["a humanoid robot kneeling"], ["a humanoid robot"], alpha=0.5, batch_size=3)
    assert type(reward.model).__name__ == "SiglipModel"
    torch.testing.assert_close(reward.image_mean.flatten(), torch.full((3,), 0.5))
    model, tok = AutoModel.from_pretrained(tiny_siglip), AutoTokenizer.from_pretrained(tiny_siglip)
    with torch.no_grad():
        text = lambda p: F.normalize(vs.features(model.get_text_features(
            **tok([p], padding="max_length", return_tensors="pt"))), dim=-1)[0]
        image = vs.features(model.get_image_features(pixel_values=reward.preprocess(frames)))
    expected = explicit_reward(image, text("a humanoid robot kneeling"), text("a humanoid robot"), 0.5)
    torch.testing.assert_close(reward(frames).double(), expected, atol=1e-5, rtol=0)
    assert reward(frames).std() > 0


def test_chunked_batches_equal_one_batch(tiny_clip, frames):
    one = vs.CLIPReward(tiny_clip, ["a robot"], batch_size=100)(frames)
    torch.testing.assert_close(vs.CLIPReward(tiny_clip, ["a robot"], batch_size=2)(frames), one, atol=1e-6, rtol=0)


def test_several_prompts_are_averaged_after_normalizing(tiny_clip):
    both = vs.CLIPReward(tiny_clip, ["a robot", "a humanoid robot kneeling"])
    one, two = vs.CLIPReward(tiny_clip, ["a robot"]), vs.CLIPReward(tiny_clip, ["a humanoid robot kneeling"])
    torch.testing.assert_close(both.goal_emb, (one.goal_emb + two.goal_emb) / 2)
    assert one.goal_emb.norm() == pytest.approx(1, abs=1e-5)


def test_auto_precision_is_the_authors_amp_fp16_on_cuda_and_fp32_on_cpu():
    assert vs.resolve_precision("auto", torch.device("cuda")) == "amp-fp16"
    assert vs.resolve_precision("auto", torch.device("cpu")) == "fp32"


def test_amp_fp16_rewards_are_within_3_percent_of_fp32_and_bf16_weights_are_not(tiny_clip):
    """On the CPU: the authors' scheme (fp32 weights, images under fp16 autocast, text in fp32) has a worst reward
    error against fp32 within 3% of the spread (std) of the rewards across frames, a bound that pure bf16 weights
    exceed. Text embeddings are fp32 under every scheme. results/benchmarks.md measures the schemes on a GPU."""
    frames = smooth_frames()
    exact = vs.CLIPReward(tiny_clip, ["a robot"], precision="fp32")
    reference = exact(frames)
    error = {}
    for precision in ("amp-fp16", "bf16"):
        model = vs.CLIPReward(tiny_clip, ["a robot"], precision=precision)
        torch.testing.assert_close(model.goal_emb, exact.goal_emb, atol=0, rtol=0)  # text is always fp32
        error[precision] = float((model(frames) - reference).abs().max() / reference.std())
    assert error["amp-fp16"] < 0.03, error
    assert error["bf16"] > 0.03, error  # the bound tells the schemes apart


def test_preprocessing_matches_transformers_image_processor(reward):
    """Our on-device resize (torch bicubic, antialiased) against CLIPImageProcessor resizing the whole frame to the
    same square without a crop (PIL bicubic), on rendered frames: the normalized pixels agree to a mean absolute
    difference of 0.01 (under a grey level) and the image embeddings to cosine 0.999. They cannot agree exactly:
    the bicubic kernels differ (PIL a=-0.5, torch a=-0.75) and PIL rounds to uint8 after resizing."""
    from PIL import Image
    from transformers import CLIPImageProcessor

    frames = [vs.draw_mountaincar(x, vs.look_images("generated")) for x in (-0.5, 0.3)]
    cartpole = vs.make_env("CartPole-v1")
    cartpole.reset(seed=0)
    frames = np.stack(frames + [cartpole.render()])  # 400 x 600: not square, so no crop matters
    size = reward.image_size
    processor = CLIPImageProcessor(size={"height": size, "width": size}, do_center_crop=False, resample=Image.BICUBIC,
                                   image_mean=reward.image_mean.flatten().tolist(),
                                   image_std=reward.image_std.flatten().tolist())
    expected = processor(images=list(frames), return_tensors="pt").pixel_values
    ours = reward.preprocess(frames)
    assert ours.shape == expected.shape == (3, 3, size, size)
    assert (ours - expected).abs().mean() < 0.01
    with torch.no_grad():
        cos = F.cosine_similarity(vs.features(reward.model.get_image_features(pixel_values=ours)),
                                  vs.features(reward.model.get_image_features(pixel_values=expected)))
    assert cos.min() > 0.999


def test_the_whole_frame_is_seen_not_a_center_crop(reward):
    """A mark at the far right edge of a wide frame (MountainCar's flag) must change the input."""
    frame = np.full((1, 400, 600, 3), 128, np.uint8)
    marked = frame.copy()
    marked[:, :, -60:] = 255
    assert (reward.preprocess(marked) - reward.preprocess(frame))[..., -3:].abs().max() > 0.5


def test_mean_and_std_come_from_the_checkpoints_image_processor(tmp_path):
    """A checkpoint saved with a mean and std of its own, not OpenAI's: the reward normalizes with them."""
    mean, std = [0.2, 0.5, 0.7], [0.1, 0.3, 0.6]
    assert mean != CLIP_MEAN and std != CLIP_STD
    reward = vs.CLIPReward(build_tiny_clip(tmp_path, image_mean=mean, image_std=std), ["a robot"])
    torch.testing.assert_close(reward.image_mean.flatten(), torch.tensor(mean))
    torch.testing.assert_close(reward.image_std.flatten(), torch.tensor(std))
    colour = np.array([51, 128, 204], np.uint8)  # one flat colour: resizing keeps it, so each channel is known
    pixels = reward.preprocess(np.broadcast_to(colour, (2, 40, 60, 3)))  # (2, 3, S, S)
    expected = (torch.tensor(colour / 255, dtype=torch.float32) - torch.tensor(mean)) / torch.tensor(std)
    torch.testing.assert_close(pixels, expected.view(1, 3, 1, 1).expand_as(pixels), atol=1e-5, rtol=0)


# --- bad input: clear errors before heavy work


@pytest.mark.parametrize("goal, baseline, alpha, message", [
    ([], [], 0.0, "no goal prompt"),
    (["  "], [], 0.0, "empty prompt"),
    (["a robot"], [""], 0.5, "empty prompt"),
    (["a robot"], ["a thing"], 1.5, "alpha must be in [0, 1]"),
    (["a robot"], ["a thing"], -0.1, "alpha must be in [0, 1]"),
    (["a robot"], [], 0.5, "also pass --baseline-prompt"),
    (["a robot"], ["a robot"], 0.5, "no goal-baseline direction"),
])
def test_bad_prompts_and_alpha_are_refused_before_loading(goal, baseline, alpha, message):
    with pytest.raises(vs.UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        vs.CLIPReward("/nonexistent/never/loaded", goal, baseline, alpha)


def test_prompts_that_embed_identically_are_refused(tiny_clip):
    # "a robot" and "a  robot" tokenize the same, so they have no goal-baseline direction
    with pytest.raises(vs.UserError, match="embed to the same vector"):
        vs.CLIPReward(tiny_clip, ["a robot"], ["a  robot"], alpha=0.5)


def test_a_baseline_with_alpha_zero_warns_that_it_has_no_effect_in_one_plain_line(tiny_clip, capsys):
    vs.CLIPReward(tiny_clip, ["a robot"], ["a thing"], alpha=0.0)
    lines = capsys.readouterr().err.splitlines()
    assert ("warning: --baseline-prompt has no effect with --alpha 0 (the reward is the cosine similarity with the "
            "goal)") in lines and "Traceback" not in lines and not any("UserWarning" in line for line in lines)
    vs.CLIPReward(tiny_clip, ["a robot"], ["a thing"], alpha=0.5)
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("name, hint", [
    ("/no/such/dir", "no local directory"),
    ("./relative/missing", "no local directory"),
    ("laion/CLIP-ViT-bigG-14-laion2B-39B-b160kk", "offline"),  # mistyped hub id while offline
])
def test_a_model_that_cannot_be_loaded_says_why(name, hint):
    with pytest.raises(vs.UserError, match=hint):
        vs.CLIPReward(name, ["a robot"])


def test_a_directory_without_a_model_says_so(tmp_path):
    with pytest.raises(vs.UserError, match="holds no loadable model"):
        vs.CLIPReward(str(tmp_path), ["a robot"])


@pytest.mark.parametrize("bad", [
    np.zeros((2, 32, 32, 3), np.float32),  # wrong dtype
    np.zeros((32, 32, 3), np.uint8),  # one frame without the batch axis
    np.zeros((2, 32, 32, 4), np.uint8),  # RGBA
    np.zeros((2, 3, 32, 32), np.uint8),  # channels first
])
def test_frames_of_the_wrong_dtype_or_shape_are_refused(reward, bad):
    with pytest.raises(vs.UserError, match=r"uint8 RGB images of shape \(N, H, W, 3\)"):
        reward(bad)


def test_logged_prompts_are_scored_like_the_goal_from_the_same_embedding(tiny_clip, frames):
    """CLIPReward.score_frames: the goal's reward unchanged, each --log-prompt's reward under the same rule (alpha, baseline),
    and the zero-shot vote: 1 where the frame is closer (cosine) to the goal than to every logged prompt."""
    logged = ["a humanoid robot kneeling", "a humanoid robot"]
    plain = vs.CLIPReward(tiny_clip, ["a robot"], ["a thing"], alpha=0.5)
    scores = vs.CLIPReward(tiny_clip, ["a robot"], ["a thing"], alpha=0.5, log_prompts=logged).score_frames(frames)
    assert scores.shape == (len(frames), 4) and plain.score_frames(frames).shape == (len(frames), 1)
    torch.testing.assert_close(scores[:, 0], plain(frames))
    for k, prompt in enumerate(logged):
        torch.testing.assert_close(scores[:, 1 + k], vs.CLIPReward(tiny_clip, [prompt], ["a thing"], alpha=0.5)(frames))
    x = plain.embed_images(frames)
    cosines = torch.stack([x @ vs.CLIPReward(tiny_clip, [p]).goal_emb for p in ["a robot", *logged]], 1)
    torch.testing.assert_close(scores[:, 3], (cosines.argmax(1) == 0).float())


def test_an_over_long_prompt_is_cut_to_what_the_text_model_takes_with_a_note(tiny_clip, capsys):
    """The tiny CLIP's text model takes 32 tokens (BOS, 30 words, EOS here): a prompt of 40 words embeds as its
    first 30 words do, and one line says so."""
    words = ["robot", "cart", "pole"] * 13 + ["robot"]
    long, cut = " ".join(words), " ".join(words[:30])
    model = vs.CLIPReward(tiny_clip, [long])
    notes = [line for line in capsys.readouterr().err.splitlines() if "note:" in line]
    assert len(notes) == 1 and "is 42 tokens long and the text model takes 32" in notes[0]
    torch.testing.assert_close(model.goal_emb, vs.CLIPReward(tiny_clip, [cut]).goal_emb)
    assert not torch.allclose(model.goal_emb, vs.CLIPReward(tiny_clip, [" ".join(words[:29])]).goal_emb)


# --- --reward-frames K: a transition's reward scores the last K frames of its episode


def test_window_index_pads_with_the_episodes_first_frame_and_never_crosses_an_episode_end():
    # 2 frames of the running episode carried in (sequence 0, 1), then 5 steps; an episode ends at step 1
    index, start = vs.window_index(2, np.array([False, True, False, False, False]), 3)
    assert index.tolist() == [[0, 1, 2], [1, 2, 3], [4, 4, 4], [4, 4, 5], [4, 5, 6]]
    assert start == 4  # the episode running at the end began with the stretch's step 2
    index, start = vs.window_index(0, np.array([True, True]), 3)  # one-step episodes: each frame alone
    assert index.tolist() == [[0, 0, 0], [1, 1, 1]] and start == 2


def test_k_frame_labels_across_stretches_equal_each_episodes_own_windows(tiny_clip):
    """The side thread's labels of two stretches, 2 envs, episodes ending inside and at the edge of a stretch, equal
    the labels of each frame's window taken from its whole episode: the mean of its K image embeddings, the
    episode's first frame repeated where the episode is younger than K, never a frame of the episode before."""
    k, n, steps = 3, 2, 5
    model = vs.CLIPReward(tiny_clip, ["a robot"], log_prompts=["a cart"], reward_frames=k, batch_size=4)
    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, (2 * steps, n, 32, 32, 3), dtype=np.uint8)  # every frame differs
    ended = np.zeros((2 * steps, n), bool)
    ended[1, 0] = ended[4, 1] = ended[5, 1] = True  # env 0: inside the first stretch; env 1: at its edge, and a 1-step one
    buffer = np.zeros((steps, n, 32, 32, 3), np.uint8)
    got = []
    with vs.StretchScorer(model, buffer, 4, torch.device("cpu")) as scorer:
        for stretch in range(2):
            for t in range(steps):
                buffer[t] = video[stretch * steps + t]
                scorer.rendered(t, last=t == steps - 1)
            got.append(scorer.score_stretch(ended[stretch * steps:(stretch + 1) * steps]))
    got = np.concatenate(got)  # (10, n, C)
    for i in range(n):
        embeddings = model.embed_images(video[:, i])
        start = 0
        for t in range(2 * steps):
            window = [max(start, s) for s in range(t - k + 1, t + 1)]
            want = model.score_embeddings(embeddings[window].mean(0, keepdim=True))[0].numpy()
            np.testing.assert_allclose(got[t, i], want, rtol=1e-5, atol=1e-6)
            if ended[t, i]:
                start = t + 1
    assert len(np.unique(got[..., 0])) == got[..., 0].size  # every window scored apart


@pytest.mark.parametrize("alpha, logged, votes", [  # the random tiny CLIP votes alike on every frame: one set of
    (0.0, ["a cart", "a pole", "a robot arm"], 10),   # sentences where the goal wins everywhere, one where it loses
    (0.5, ["a cart", "a pole", "a robot arm"], 10),
    (1.0, ["a cart", "a pole", "a robot arm"], 10),
    (0.5, ["tall robot"], 0),
])
def test_one_frame_labels_are_the_papers_formula_and_the_vote_from_the_models_own_embeddings(tiny_clip, alpha, logged, votes):
    """At K = 1 every path that labels frames (a stretch's, an episode's, windows of one frame) gives, per frame, the
    paper's r = 1 - 0.5 ||(x - g) P||^2 (P an explicit D x D matrix, g and b means of unit text embeddings), each
    logged sentence's reward under the same P rule with the same baseline, and the vote: the goal's cosine above
    every logged sentence's. Written here from the transformers model's raw embeddings, not from the code's."""
    from transformers import AutoModel, AutoTokenizer

    goals, baselines = ["a robot", "a tall robot"], ["a thing", "a box"]
    frames = np.random.default_rng(1).integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    model = vs.CLIPReward(tiny_clip, goals, baselines, alpha=alpha, log_prompts=logged)
    clip, tokenizer = AutoModel.from_pretrained(tiny_clip).eval(), AutoTokenizer.from_pretrained(tiny_clip)

    def unit(output):  # transformers 5 returns an output object, 4 a tensor
        return F.normalize((output if isinstance(output, torch.Tensor) else output.pooler_output).double(), dim=-1)

    with torch.no_grad():
        text = lambda p: unit(clip.get_text_features(**tokenizer(p, padding=True, return_tensors="pt")))  # noqa: E731
        x = unit(clip.get_image_features(pixel_values=model.preprocess(frames)))  # (10, D); the preprocessing is the code's
    g, b, each = text(goals).mean(0), text(baselines).mean(0), text(logged)  # g, b: means of unit vectors, not renormalized
    reward = explicit_reward(x, g, b, alpha)
    scores = torch.stack([explicit_reward(x, each[j], b, alpha) for j in range(len(logged))], 1)  # (10, K)
    goal_cosine = x @ g / g.norm()
    vote = torch.stack([goal_cosine > x @ each[j] for j in range(len(logged))], 1).all(1).double()
    expected = torch.cat([reward[:, None], scores, vote[:, None]], 1)  # (10, K + 2)
    assert vote.sum() == votes

    for labels in (model.score_frames(frames), model.score_episode(frames),
                   model.score_windows(model.frame_features(frames), np.zeros(len(frames), bool))[0]):
        assert labels.shape == (10, len(logged) + 2)
        torch.testing.assert_close(labels[:, :-1].double(), expected[:, :-1], atol=1e-5, rtol=0)
        assert torch.equal(labels[:, -1].double(), expected[:, -1])


def test_a_video_model_scores_the_clip_as_its_own_forward_does(tiny_xclip):
    """X-CLIP conditions each sentence's embedding on the clip (its prompts generator): at alpha 0 with one goal, the
    reward is the model's own cosine of clip and sentence, logits_per_video / logit_scale."""
    from transformers import AutoTokenizer, XCLIPModel

    frames = np.random.default_rng(2).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    model = vs.CLIPReward(tiny_xclip, ["a pendulum spinning clockwise"], log_prompts=["a pendulum at rest"], reward_frames=4)
    scores = model.score_episode(frames)  # (4, 3): each frame's window of 4, padded with the first frame
    xclip = XCLIPModel.from_pretrained(tiny_xclip).eval()
    tokens = AutoTokenizer.from_pretrained(tiny_xclip)(["a pendulum spinning clockwise", "a pendulum at rest"],
                                                      padding=True, return_tensors="pt")
    for t in range(4):
        clip = model.preprocess(frames[[max(0, s) for s in range(t - 3, t + 1)]])[None]  # (1, 4, 3, S, S)
        with torch.no_grad():
            out = xclip(pixel_values=clip, **tokens)
        cosine = out.logits_per_video[0] / xclip.logit_scale.exp()
        assert scores[t, 0] == pytest.approx(cosine[0].item(), abs=1e-5)  # the goal's reward
        assert scores[t, 1] == pytest.approx(cosine[1].item(), abs=1e-5)  # the logged sentence's, same rule
        assert scores[t, 2] == float(cosine[0] > cosine[1])  # the vote
    assert len(set(scores[:, 0].tolist())) == 4


def test_a_video_model_whose_tokenizer_would_cut_sentences_is_refused(tiny_xclip, tmp_path):
    """transformers' X-CLIP embeds a sentence at its token of the highest id. With the end token at id 1 (in this
    tokenizer the words come after it) "a pole on the cart" and "... car" would both be embedded at "the": refused
    in one line. With the end token last, as in CLIP's vocabulary, the two sentences embed differently."""
    from tiny_models import build_tiny_xclip

    model = vs.CLIPReward(tiny_xclip, ["a pole on the cart"], log_prompts=["a pole on the car"], reward_frames=4)
    assert (model.goal_text - model.log_text).abs().max() > 1e-3
    eos_first = build_tiny_xclip(tmp_path / "eos_first", eos_last=False)
    with pytest.raises(vs.UserError, match="gives 'the</w>' a higher id than its end token.*'a pole on the cart' would end"):
        vs.CLIPReward(eos_first, ["a pole on the cart"], reward_frames=4)


def test_a_video_model_takes_only_its_clip_length_and_other_models_are_refused(tiny_xclip, tmp_path):
    with pytest.raises(vs.UserError, match="scores clips of 4 frames, not 3: use --reward-frames 4"):
        vs.CLIPReward(tiny_xclip, ["a robot"], reward_frames=3)
    from transformers import CLIPTextConfig, CLIPTextModel

    CLIPTextModel(CLIPTextConfig(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=1)).save_pretrained(tmp_path)
    with pytest.raises(vs.UserError, match="neither an image-text model .* nor a video-text one"):
        vs.CLIPReward(str(tmp_path), ["a robot"])


# --- --reward-rule softmax: CLIP's zero-shot classifier as the reward


def test_softmax_rule_is_the_goal_probability_computed_by_hand(tiny_clip, frames):
    """The goal's probability among the goal and each baseline sentence, from the model's own embeddings and logit
    scale, computed here with transformers' CLIPModel directly (not through CLIPReward's embeddings)."""
    from transformers import AutoTokenizer, CLIPModel

    goal, negatives = "a humanoid robot kneeling", ["a humanoid robot", "a robot"]
    model, tokenizer = CLIPModel.from_pretrained(tiny_clip).eval(), AutoTokenizer.from_pretrained(tiny_clip)
    plain = vs.CLIPReward(tiny_clip, [goal])
    with torch.no_grad():
        text = model.get_text_features(**tokenizer([goal, *negatives], padding=True, return_tensors="pt"))
        image = model.get_image_features(pixel_values=plain.preprocess(frames))
    cos = F.normalize(vs.features(image), dim=-1) @ F.normalize(vs.features(text), dim=-1).T  # (N, 3)
    scale = model.logit_scale.exp().item()
    assert scale > 2  # the check would pass for a model whose logit scale were ignored if it were near 1
    by_hand = torch.exp(scale * cos[:, 0]) / torch.exp(scale * cos).sum(1)
    for rule, expected in (("softmax", by_hand), ("log-softmax", by_hand.log())):
        reward = vs.CLIPReward(tiny_clip, [goal], negatives, rule=rule)
        torch.testing.assert_close(reward(frames), expected, atol=1e-5, rtol=0)
        windows = reward.score_windows(reward.frame_features(frames), np.zeros(len(frames), bool))[0][:, 0]
        torch.testing.assert_close(windows, expected, atol=1e-5, rtol=0)  # --reward-frames 1 takes the same path
    logged = vs.CLIPReward(tiny_clip, [goal], negatives, rule="softmax", log_prompts=["a cart"]).score_frames(frames)
    torch.testing.assert_close(logged[:, 1], vs.CLIPReward(tiny_clip, ["a cart"], negatives, rule="softmax")(frames))


@pytest.mark.parametrize("baseline, alpha, message", [
    ([], 0.0, "give at least one baseline"),
    (["a robot"], 0.5, "and --alpha 0"),
    (["a humanoid robot kneeling"], 0.0, "that is not a goal prompt"),
])
def test_softmax_rule_refuses_what_it_cannot_classify(baseline, alpha, message):
    with pytest.raises(vs.UserError, match=message):
        vs.CLIPReward("/nonexistent/never/loaded", ["a humanoid robot kneeling"], baseline, alpha, rule="softmax")


def test_softmax_rule_refuses_a_video_model_in_one_line(tiny_xclip):
    with pytest.raises(vs.UserError, match="needs an image-text model with a logit scale"):
        vs.CLIPReward(tiny_xclip, ["a pendulum"], ["a pole"], reward_frames=4, rule="softmax")
