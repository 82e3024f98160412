"""The environments as the paper renders them: frames, episode rules, the terminal-frame rule, looks."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vlmrm_sac as vs

SMALL = 64  # humanoid frames in tests: 480x480 renders at ~9 frames/s on a CI core


def make(env_id, **kw):
    """An env as vlmrm_sac.py makes it, with the generated look unless one is given (the authors' images cannot be
    downloaded here; the paper look is tested on stand-in files below)."""
    kw.setdefault("render_size", SMALL)
    kw.setdefault("look", "generated")
    return vs.make_env(env_id, episode_length=kw.pop("episode_length", None), **kw)


def rollout_frames(env, actions, seed=0):
    env.reset(seed=seed)
    frames = []
    for action in actions:
        env.step(action)
        frames.append(env.render())
    return frames


@pytest.mark.parametrize("env_id, shape", [("Humanoid-v5", (SMALL, SMALL, 3)), ("CartPole-v1", (400, 600, 3)),
                                           ("MountainCarContinuous-v0", (400, 600, 3))])
def test_frames_are_uint8_rgb_of_the_right_shape(env_id, shape):
    env = make(env_id)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    frame = env.render()
    assert frame.shape == shape and frame.dtype == np.uint8
    env.close()


def pool_rollout(env_id, num_workers, steps=3, num_envs=3, render_envs=3):
    """Observations and the shared frame buffer after `steps` steps of a pool with fixed seeds and actions."""
    args = vs.Args(env_id=env_id, num_envs=num_envs, render_size=SMALL, num_workers=num_workers, look="generated")
    pool = vs.make_env_pool(args, slots=steps, render_envs=render_envs)
    obs = [pool.reset({i: 10 + i for i in range(num_envs)})]
    rng = np.random.default_rng(0)
    space = pool.single_action_space
    for t in range(steps):
        actions = rng.integers(0, space.n, num_envs) if hasattr(space, "n") else \
            rng.uniform(space.low, space.high, (num_envs, *space.shape)).astype(np.float32)
        obs.append(pool.step(actions, slot=t)[0])
    frames = pool.frames.copy()
    pool.close()
    return np.stack(obs), frames


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Humanoid-v5"])
def test_pool_frames_are_the_envs_own_renders_whatever_the_number_of_workers(env_id):
    """Workers render into shared memory, never through a pipe: the frames and observations are bit for bit
    those of the envs stepped one by one in this process, with one worker per env or several envs per worker."""
    obs, frames = pool_rollout(env_id, num_workers=0)
    assert frames.shape[:2] == (3, 3) and frames.dtype == np.uint8 and frames.std() > 0
    for num_workers in (1, 3):
        other_obs, other_frames = pool_rollout(env_id, num_workers)
        np.testing.assert_array_equal(other_obs, obs)
        np.testing.assert_array_equal(other_frames, frames)
    # the same as a lone env, stepped and rendered by hand with the same seed and actions
    env = make(env_id)
    env.reset(seed=11)
    rng = np.random.default_rng(0)
    space = env.action_space
    for t in range(3):
        actions = rng.integers(0, space.n, 3) if hasattr(space, "n") else \
            rng.uniform(space.low, space.high, (3, *space.shape)).astype(np.float32)
        env.step(actions[1])
        np.testing.assert_array_equal(frames[t, 1], env.render())


def test_envs_that_render_in_one_process_each_use_their_own_gl_context():
    """A worker steps several envs; gymnasium renders into whichever GL context is current. Two humanoids whose
    contexts differ (multisampling, shadow map) rendered in turn must each give their own frame every time."""
    paper, other = make("Humanoid-v5"), make("Humanoid-v5")
    quality = other.unwrapped.model.vis.quality  # read when its GL context is made, at its first render
    quality.offsamples, quality.shadowsize = 0, 1024
    paper.reset(seed=0), other.reset(seed=0)
    first = paper.render()
    vs.render(other)  # the context made last
    np.testing.assert_array_equal(vs.render(paper), first)
    assert first.mean() > 50  # a lit scene, not an empty buffer


def test_only_the_first_render_envs_render():
    _, frames = pool_rollout("CartPole-v1", num_workers=2, render_envs=1)
    assert frames.shape[1] == 1 and frames.std() > 0


def test_a_failing_env_worker_is_reported_with_its_traceback():
    args = vs.Args(env_id="Humanoid-v5", num_envs=2, num_workers=2, render_size=SMALL, look="generated")
    with vs.make_env_pool(args) as pool:
        pool.reset({0: 0, 1: 1})
        with pytest.raises(vs.RunFailed, match=r"env worker 1 of 2 \(envs 0-0 of 2\) failed: ValueError") as failure:
            pool.step(np.zeros((2, 3), np.float32))  # wrong action size: MuJoCo refuses it inside the worker
        assert "Traceback" in failure.value.details and "step" in failure.value.details
        processes = pool.processes
    assert not any(p.is_alive() for p in processes)


@pytest.mark.parametrize("env_id, length", [("Humanoid-v5", 100), ("CartPole-v1", 200), ("MountainCarContinuous-v0", 200)])
def test_episodes_last_exactly_the_paper_length_and_end_terminal(env_id, length):
    assert vs.episode_length_for(vs.Args(env_id=env_id)) == length
    env = make(env_id, episode_length=length)
    env.reset(seed=0)
    ends = []
    for t in range(length):
        # CartPole falls within ~10 random steps and the humanoid within ~20: both must keep going
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        ends.append(terminated or truncated)
    assert not any(ends[:-1]) and terminated and not truncated
    env.close()


def test_episode_length_flag_overrides_the_paper_length():
    env = make("Humanoid-v5", episode_length=7)
    env.reset(seed=0)
    dones = [env.step(env.action_space.sample())[2] for _ in range(7)]
    assert dones == [False] * 6 + [True]


def test_time_feature_appends_the_share_of_the_episode_left_and_nothing_else_changes():
    plain, clocked = make("MountainCarContinuous-v0", episode_length=4), make("MountainCarContinuous-v0", episode_length=4, time_feature=True)
    assert clocked.observation_space.shape == (3,) and clocked.observation_space.contains(clocked.reset(seed=0)[0])
    for episode in range(2):  # the clock starts again at every reset
        a, b = plain.reset(seed=episode)[0], clocked.reset(seed=episode)[0]
        assert np.array_equal(b, np.append(a, 1.0).astype(np.float32))
        for left in [0.75, 0.5, 0.25, 0.0]:
            (a, ra, ta, _, _), (b, rb, tb, _, _) = plain.step(np.ones(1, np.float32)), clocked.step(np.ones(1, np.float32))
            assert np.array_equal(b[:2], a) and b[2] == left and b.dtype == np.float32 and (ra, ta) == (rb, tb)
            assert np.array_equal(plain.render(), clocked.render())
    assert make("MountainCarContinuous-v0", episode_length=4).reset(seed=0)[0].shape == (2,)  # off by default


def test_the_frame_of_the_last_step_shows_the_state_it_reached_not_the_next_episode():
    """The authors' code stored the next episode's first frame for the last transition: not here."""
    args = vs.Args(env_id="CartPole-v1", num_envs=2, episode_length=5, num_workers=2)
    envs = vs.make_env_pool(args, slots=2, render_envs=2)
    envs.reset({0: 10, 1: 11})
    for _ in range(5):
        next_obs, _, terminated, *_ = envs.step(np.ones(2, dtype=np.int64), slot=0)
    assert terminated.all()
    reset_obs = envs.reset({0: 12, 1: 13})
    envs.step(np.ones(2, dtype=np.int64), slot=1)
    terminal_frames, first_frames = envs.frames[0], envs.frames[1]
    # A fresh env put into the reached state renders exactly the stored terminal frame
    probe = make("CartPole-v1")
    probe.reset(seed=0)
    for i in range(2):
        probe.unwrapped.state = next_obs[i].astype(np.float64)
        np.testing.assert_array_equal(terminal_frames[i], probe.render())
        assert not np.array_equal(terminal_frames[i], first_frames[i])
    assert not np.allclose(next_obs, reset_obs)
    envs.close()


def test_cartpole_wraps_the_angle_clips_the_cart_and_tracks_success():
    env = make("CartPole-v1")
    env.reset(seed=0)
    pole_up, success, xs, thetas = [], [], [], []
    for _ in range(200):  # always push right: the cart hits the wall, the pole falls and spins
        obs, reward, terminated, truncated, info = env.step(1)
        xs.append(obs[0]), thetas.append(obs[2]), pole_up.append(info["pole_up"]), success.append(info["success"])
        assert reward == float(info["pole_up"])
    assert max(xs) == pytest.approx(2.4) and min(xs) >= -2.4
    assert all(-np.pi <= th <= np.pi for th in thetas)
    fell = pole_up.index(False)
    assert all(success[:fell]) and not any(success[fell:])  # success = it never fell, lost for good
    assert any(abs(th) > np.pi / 2 for th in thetas)  # it really did fall over, and kept being simulated


def test_cartpole_success_by_the_stock_rule_when_the_pole_stays_up():
    env = make("CartPole-v1")
    obs, info = env.reset(seed=0)
    for _ in range(20):  # a simple balancing controller keeps the pole up for 20 steps
        obs, _, _, _, info = env.step(int(obs[2] + 0.5 * obs[3] > 0))
    assert info["pole_up"] and info["success"]


def test_mountaincar_goal_caps_x_and_lets_the_car_roll_back_as_the_authors_rule_does():
    """From x = 0.43, v = 0.03 with zero actions the car reaches the flag, is held at x = 0.45 while its velocity
    decays under gravity, then rolls back down: the authors' rule (x capped at 0.45, velocity and physics going
    on), whose numbers these are. Success is kept for the rest of the episode; the stock +100 is paid once."""
    env = make("MountainCarContinuous-v0", episode_length=200)
    env.reset(seed=0)
    assert env.step(np.array([0.0]))[4]["success"] is False
    env.unwrapped.state = np.array([0.43, 0.03])
    xs, rewards, infos = {}, [], []
    for t in range(1, 121):
        obs, reward, terminated, _, info = env.step(np.array([0.0]))
        xs[t] = obs[0]
        rewards.append(reward)
        infos.append(info)
    assert [round(float(xs[t]), 3) for t in (1, 40, 80, 120)] == [0.450, 0.450, 0.181, -1.097]
    assert rewards[0] == 100 and not any(rewards[1:])  # ground truth: the stock reward until the flag, 0 after it
    assert all(i["success"] for i in infos) and not terminated  # the episode runs to its fixed length


def test_mountaincar_at_the_flag_stays_there_only_while_pushed():
    env = make("MountainCarContinuous-v0", episode_length=200)
    env.reset(seed=0)
    env.unwrapped.state = np.array([0.44, 0.05])
    for _ in range(60):
        obs, *_ = env.step(np.array([1.0]))
    assert obs[0] == pytest.approx(vs.MOUNTAINCAR_GOAL)  # full throttle holds the car on the peak


def test_mountaincar_success_is_per_episode():
    env = make("MountainCarContinuous-v0", episode_length=200)
    env.reset(seed=0)
    env.unwrapped.state = np.array([0.44, 0.05])
    assert env.step(np.array([1.0]))[4]["success"]
    _, info = env.reset(seed=1)
    assert info["success"] is False and env.step(np.array([0.0]))[4]["success"] is False


def test_mountaincar_without_reaching_the_goal_is_no_success():
    env = make("MountainCarContinuous-v0", episode_length=10)
    env.reset(seed=0)
    infos = [env.step(np.array([0.0]))[4] for _ in range(10)]
    assert not any(i["success"] for i in infos)


@pytest.mark.parametrize("switch", [{"paper_camera": False}, {"look": "stock"}])
def test_humanoid_ablation_switches_change_the_picture(switch):
    actions = [np.zeros(17, dtype=np.float32)] * 2
    paper = rollout_frames(make("Humanoid-v5"), actions)[-1]
    ablated = rollout_frames(make("Humanoid-v5", **switch), actions)[-1]
    assert np.abs(paper.astype(int) - ablated.astype(int)).mean() > 5


def test_every_humanoid_look_has_the_stock_body_so_the_policy_sees_the_same_states(authors_like):
    actions = [np.full(17, 0.3, dtype=np.float32)] * 5
    observations = []
    for look in ("paper", "generated", "stock"):
        env = make("Humanoid-v5", look=look, look_dir=authors_like)
        observations.append([env.reset(seed=4)[0]] + [env.step(a)[0] for a in actions])
    np.testing.assert_array_equal(np.array(observations[0]), np.array(observations[1]))
    np.testing.assert_array_equal(np.array(observations[0]), np.array(observations[2]))


def test_generated_look_files_are_what_their_script_draws_and_the_humanoid_xml_uses_them(tmp_path, monkeypatch):
    """looks/generated/ holds what tests/generated_look.py draws, byte for byte in the decoded images; the
    generated humanoid XML is written once into the cache and places those files."""
    proc = subprocess.run([sys.executable, str(Path(vs.__file__).parent / "tests" / "generated_look.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    xml = vs.humanoid_xml("generated")
    assert vs.humanoid_xml("generated") == xml and xml.startswith(str(tmp_path))
    text = Path(xml).read_text()
    for name in ("sky.png", "tiles.png", "robot.png"):
        assert f'file="{vs.GENERATED_LOOK / name}"' in text
    assert vs.humanoid_xml("stock").endswith("humanoid.xml")


def test_paper_humanoid_look_uses_the_authors_files_as_their_xml_places_them(authors_like):
    """The paper look's XML is gymnasium's stock bodies with the authors' assets: their three files, the sky as one
    image (no cross layout), the floor repeated 60x60 without reflectance, the metal on every body, their light."""
    import xml.etree.ElementTree as ET

    root = ET.parse(vs.humanoid_xml("paper", vs.authors_images(authors_like))).getroot()
    textures = {t.get("type"): t.attrib for t in root.iter("texture")}
    assert Path(textures["skybox"]["file"]) == Path(authors_like, "sky.png").resolve() and "gridsize" not in textures["skybox"]
    assert Path(textures["2d"]["file"]).name == "tiles.png" and Path(textures["cube"]["file"]).name == "robot.png"
    floor = root.find("asset/material[@name='MatPlane']").attrib
    assert floor["texrepeat"] == "60 60" and floor["reflectance"] == "0"
    assert root.find("worldbody/light").get("dir") == "0 0 -1.5"
    paper = rollout_frames(make("Humanoid-v5", look="paper", look_dir=authors_like), [np.zeros(17)])[-1]
    generated = rollout_frames(make("Humanoid-v5"), [np.zeros(17)])[-1]
    assert np.abs(paper.astype(int) - generated.astype(int)).mean() > 1  # the files given are what is drawn


def test_paper_mountaincar_look_is_the_authors_photograph_with_their_car_on_the_track(authors_like):
    """The frame is the background file (its alpha blended with white, as pygame blits it onto a white surface)
    except around the car, whose sprite sits on the track where the car is."""
    import imageio.v3 as iio

    env = make("MountainCarContinuous-v0", look="paper", look_dir=authors_like)
    env.reset(seed=0)
    background = iio.imread(Path(authors_like, "mountain_car_background.png")).astype(float)
    expected = background[..., :3] * background[..., 3:] / 255 + 255 * (1 - background[..., 3:] / 255)
    for x in (-1.0, 0.3):
        env.unwrapped.state = np.array([x, 0.0])
        frame = env.render()
        changed = np.abs(frame - expected).max(-1) > 2  # (400, 600): where the sprite covers the photograph
        rows, cols = np.nonzero(changed)
        col = (x + 1.2) / 1.8 * 600
        row = 400 - 15 - (np.sin(3 * x) * 0.45 + 0.55) * 600 / 1.8  # the sprite's centre, 15 px above the track
        assert frame.shape == (400, 600, 3) and changed.mean() < 0.02
        assert abs(cols.mean() - col) < 6 and abs(rows.mean() - row) < 6


@pytest.mark.parametrize("switches", [{}, {"look": "stock"}, {"paper_camera": False}])
def test_humanoid_v4_the_papers_env_has_the_same_looks_as_v5(switches):
    """The paper used Humanoid-v4 (observations of 376 numbers; v5 has 348). v4 takes neither xml_file nor a
    camera config, so its look is set after it is made: the same pose must give the same frame in both."""
    v4, v5 = make("Humanoid-v4", **switches), make("Humanoid-v5", **switches)
    assert v4.reset(seed=0)[0].shape == (376,) and v5.reset(seed=0)[0].shape == (348,)
    for env in (v4, v5):  # a crouched, turned pose, so a wrong camera or texture would show
        env.unwrapped.set_state(v5.unwrapped.init_qpos + 0.3 * np.sin(np.arange(24)), np.zeros(23))
    np.testing.assert_array_equal(v4.render(), v5.render())
    assert v4.step(np.zeros(17, np.float32))[0].shape == (376,)


def test_paper_camera_is_fixed_while_the_stock_camera_follows_the_body():
    """Push the humanoid's root 1 m sideways: the paper's fixed camera sees it move, the tracking one does not."""
    moved = {}
    for paper_camera in (True, False):
        env = make("Humanoid-v5", paper_camera=paper_camera)
        env.reset(seed=0)
        before = env.render()
        env.unwrapped.data.qpos[1] += 1.0  # y: across the paper camera's view, along the stock one's axis
        env.unwrapped.data.qvel[:] = 0
        env.step(np.zeros(17, dtype=np.float32))
        after = env.render()
        moved[paper_camera] = np.abs(before.astype(int) - after.astype(int)).mean()
    assert moved[True] > 3 * moved[False]


def test_mountaincar_generated_look_differs_from_stock_and_follows_the_car():
    stock, generated = make("MountainCarContinuous-v0", look="stock"), make("MountainCarContinuous-v0")
    for env in (stock, generated):
        env.reset(seed=0)
    assert np.abs(stock.render().astype(int) - generated.render().astype(int)).mean() > 5
    generated.unwrapped.state = np.array([-1.0, 0.0])
    left = generated.render()
    generated.unwrapped.state = np.array([0.4, 0.0])
    assert not np.array_equal(left, generated.render())


@pytest.mark.parametrize("env_id", ["Humanoid-v5", "CartPole-v1", "MountainCarContinuous-v0"])
def test_same_seed_gives_the_same_frames(env_id):
    space = make(env_id).action_space
    space.seed(3)
    actions = [space.sample() for _ in range(3)]
    a, b = rollout_frames(make(env_id), actions, seed=5), rollout_frames(make(env_id), actions, seed=5)
    for fa, fb in zip(a, b):
        np.testing.assert_array_equal(fa, fb)
    c = rollout_frames(make(env_id), actions, seed=6)
    assert any(not np.array_equal(fa, fc) for fa, fc in zip(a, c))


def test_other_envs_keep_their_stock_rules():
    env = make("Pendulum-v1")
    assert vs.episode_length_for(vs.Args(env_id="Pendulum-v1")) is None
    env.reset(seed=0)
    steps = 0
    while True:
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        steps += 1
        if terminated or truncated:
            break
    assert steps == 200 and truncated and env.render().dtype == np.uint8  # Pendulum's own TimeLimit


def test_pendulum_is_drawn_without_its_torque_arrow_so_a_frame_shows_no_action():
    """The same state pushed either way: the stock frames differ (the arrow), ours are the same picture."""
    import gymnasium as gym

    frames = {}
    for name, env in (("ours", make("Pendulum-v1")), ("stock", gym.make("Pendulum-v1", render_mode="rgb_array"))):
        env.reset(seed=0)
        frames[name] = []
        for torque in (-2.0, 2.0):
            env.unwrapped.state = np.array([0.3, 1.0])
            env.unwrapped.last_u = torque
            frames[name].append(env.render())
    assert not np.array_equal(*frames["stock"]) and np.array_equal(*frames["ours"])
    assert np.abs(frames["ours"][0].astype(int) - frames["stock"][0]).max() > 0  # the arrow is gone, the rest stays


def test_episode_seeds_differ_per_env_and_episode_and_are_reproducible():
    """Each (env, episode) of a run gets its own seed, another experiment seed gives others, and a fresh process
    (as a resumed run is, with another hash seed) computes the same ones."""
    seeds = [vs.episode_seed(1, i, e) for i in range(4) for e in range(50)]
    assert len(set(seeds)) == 200
    assert not set(seeds) & {vs.episode_seed(2, i, e) for i in range(4) for e in range(50)}
    child = subprocess.run([sys.executable, "-c", "import vlmrm_sac as vs; "
                            "print([vs.episode_seed(1, i, e) for i in range(4) for e in range(50)])"],
                           cwd=Path(vs.__file__).parent, env={**os.environ, "PYTHONHASHSEED": "123"},
                           capture_output=True, text=True, check=True)
    assert child.stdout.strip() == str(seeds)


# --- the authors' image files: fetched once, checked, cached; or read from a folder; never a silent substitute


def serve_as_the_authors_repo(folder, monkeypatch) -> Path:
    """A file:// copy of the authors' repository layout holding `folder`'s files, which the download reads."""
    repo = Path(folder).parent / "repo"
    for name, (repo_path, _) in vs.AUTHORS_IMAGES.items():
        (repo / repo_path).parent.mkdir(parents=True, exist_ok=True)
        (repo / repo_path).write_bytes(Path(folder, name).read_bytes())
    monkeypatch.setattr(vs, "AUTHORS_URL", f"file://{repo}/{{path}}")
    return repo


def test_authors_images_are_downloaded_once_checked_and_cached(authors_like, monkeypatch):
    repo = serve_as_the_authors_repo(authors_like, monkeypatch)
    first = vs.authors_images()
    assert set(first) == set(vs.AUTHORS_IMAGES) and all(p.parent.parent == vs.cache_dir() for p in first.values())
    for name, path in first.items():
        assert path.read_bytes() == Path(authors_like, name).read_bytes()
    import shutil
    shutil.rmtree(repo)  # no source any more: the cache serves
    assert vs.authors_images() == first


def test_a_download_with_other_bytes_is_refused_in_one_line_and_nothing_is_cached(authors_like, monkeypatch):
    repo = serve_as_the_authors_repo(authors_like, monkeypatch)
    (repo / vs.AUTHORS_IMAGES["tiles.png"][0]).write_bytes(b"not the authors' tiles")
    with pytest.raises(vs.UserError) as refused:
        vs.authors_images()
    message = str(refused.value)
    assert "tiles.png" in message and "not theirs" in message and "--look-dir" in message and "--look generated" in message
    assert "\n" not in message and not list(vs.cache_dir().rglob("tiles.png"))


def test_an_unreachable_download_says_which_file_from_where_and_the_ways_on(authors_like, monkeypatch):
    monkeypatch.setattr(vs, "AUTHORS_URL", "file:///nonexistent/{path}")
    with pytest.raises(vs.UserError, match=r"could not download the authors' image sky.png from file:///nonexistent/"
                                           r"src/vlmrm/envs/mujoco/sky.png .*--look-dir.*--look generated"):
        vs.authors_images()
    assert not vs.cache_dir().exists() or not list(vs.cache_dir().rglob("*.png"))


def test_the_folder_option_takes_the_files_or_a_clone_of_the_authors_repository(authors_like, monkeypatch):
    monkeypatch.setattr(vs, "AUTHORS_URL", "file:///nonexistent/{path}")  # never downloaded
    flat = vs.authors_images(authors_like)
    clone = vs.authors_images(str(serve_as_the_authors_repo(authors_like, monkeypatch)))
    for name in vs.AUTHORS_IMAGES:
        assert flat[name] == Path(authors_like, name).resolve() and clone[name].read_bytes() == flat[name].read_bytes()
    Path(authors_like, "robot.png").unlink()
    with pytest.raises(vs.UserError, match="robot.png is not in --look-dir"):
        vs.authors_images(authors_like)
    Path(authors_like, "sky.png").write_bytes(b"a different sky")
    with pytest.raises(vs.UserError, match="sky.png from .* is not theirs"):
        vs.authors_images(authors_like)


def test_a_run_without_the_authors_images_stops_in_one_line_before_anything_starts(tmp_path):
    """The paper look is the default: a run that cannot have its images ends before a model loads or a run folder
    is made, with one line naming the file and the two ways on (no download: the folder given is empty)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    result = subprocess.run([sys.executable, str(Path(vs.__file__)), "--env-id", "MountainCarContinuous-v0",
                             "--look-dir", str(empty), "--run-dir", str(tmp_path / "runs"), "--clip-model", "nowhere"],
                            capture_output=True, text=True, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)})
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: the authors' image sky.png is not in --look-dir {empty}")
    assert "--look generated" in result.stderr and not (tmp_path / "runs").exists()


# --- --renderer warp: MuJoCo Warp draws the states the workers reached, all envs in one batch


def egl_and_warp_frames(look, paper_camera, look_dir=None, size=224, states=8):
    """EGL's frames (the env's own render) and Warp's of the same states: random actions from two resets."""
    import torch

    env = make("Humanoid-v5", render_size=size, look=look, look_dir=look_dir, paper_camera=paper_camera)
    rng = np.random.default_rng(0)
    qpos, egl = [], []
    for i in range(states):
        if i % 4 == 0:
            env.reset(seed=i)
        for _ in range(5):
            env.step(rng.uniform(-1, 1, 17).astype(np.float32))
        qpos.append(env.unwrapped.data.qpos.copy())
        egl.append(env.render().copy())
    args = vs.Args(env_id="Humanoid-v5", look=look, look_dir=look_dir, paper_camera=paper_camera, render_size=size,
                   device="cpu", renderer="warp")
    warp = torch.zeros((states, size, size, 3), dtype=torch.uint8)
    vs.WarpRenderer(args, states).render(np.array(qpos), warp)
    return np.stack(egl).astype(float), warp.numpy().astype(float)


@pytest.mark.parametrize("look, paper_camera", [("generated", True), ("generated", False), ("paper", True)])
def test_warp_frames_show_each_state_as_egl_does_within_the_measured_bound(look, paper_camera, authors_like):
    """Measured over 64 states at 224 (results/benchmarks.md): 3.5 (paper camera) and 2.8 (stock camera) grey
    levels from EGL with the generated look, 7.0 with the paper look (the floor aliases at one sample per pixel, the
    shadow falls otherwise). Each Warp frame is nearer its own state's EGL frame than any other state's."""
    egl, warp = egl_and_warp_frames(look, paper_camera, look_dir=authors_like if look == "paper" else None)
    diff = np.abs(egl[:, None] - warp[None]).mean((2, 3, 4))  # (EGL state, Warp state)
    assert 0.5 < np.diag(diff).mean() < (9 if look == "paper" else 5)  # another renderer, the same pictures
    assert (np.diag(diff) < diff.min(1, where=~np.eye(len(diff), dtype=bool), initial=np.inf)).all()


def test_warp_maps_the_paper_looks_one_image_sky_onto_every_face_as_mujoco_does(authors_like):
    """The paper's sky is one image, which MuJoCo puts on all six faces; Warp reads six stacked faces, so it is given
    the image six times: the same texture. Stretched over the six (what Warp made of the one image), the sky differed
    by 18 grey levels from EGL's."""
    import mujoco

    images = vs.authors_images(authors_like)
    one = mujoco.MjModel.from_xml_path(vs.humanoid_xml("paper", images))
    six = mujoco.MjModel.from_xml_string(f'<mujoco><asset><texture type="skybox" file="{vs.six_faces(images["sky.png"])}" '
                                         'gridsize="6 1" gridlayout="RLUDFB"/></asset></mujoco>')
    w = int(one.tex_width[0])
    face = one.tex_data[one.tex_adr[0]:one.tex_adr[0] + w * w * 3]
    assert six.tex_height[0] == 6 * w and (six.tex_data[:6 * w * w * 3].reshape(6, -1) == face).all()


def test_a_model_warp_cannot_render_is_refused_in_one_line(monkeypatch, tmp_path):
    import xml.etree.ElementTree as ET

    root = ET.parse(vs.humanoid_xml("generated")).getroot()
    ET.SubElement(root.find("option"), "flag", fwdinv="enable")  # MuJoCo Warp has no forward-inverse comparison
    path = tmp_path / "humanoid.xml"
    path.write_bytes(ET.tostring(root))
    monkeypatch.setattr(vs, "humanoid_xml", lambda look, images=None: str(path))
    with pytest.raises(vs.UserError, match=r"MuJoCo Warp cannot render this model \(.*FWDINV.*\): use --renderer egl"):
        vs.WarpRenderer(vs.Args(look="generated", device="cpu", renderer="warp"), 1)


@pytest.mark.parametrize("num_workers", [0, 1])
def test_the_pools_warp_frames_are_a_render_of_the_states_each_step_returned(num_workers):
    """What `frames` holds after each step equals a direct render of the qpos that step returned, across a reset and
    a stretch that starts over at slot 0: each slot is drawn from its own step's states."""
    import torch

    args = vs.Args(env_id="Humanoid-v5", look="generated", render_size=32, num_envs=3, num_workers=num_workers,
                   device="cpu", renderer="warp")
    slots, rng = 4, np.random.default_rng(0)
    with vs.make_env_pool(args, slots=slots, render_envs=2) as pool:
        pool.reset({i: i for i in range(3)})
        qpos = np.zeros((2 * slots, 2, pool.renderer.nq))
        want = torch.zeros((2, 32, 32, 3), dtype=torch.uint8)
        for t in range(2 * slots):
            states = pool.step(rng.uniform(-0.4, 0.4, (3, 17)).astype(np.float32), slot=t % slots)[5]
            qpos[t] = states[:2, :pool.renderer.nq]
            if t == 2:
                pool.reset({1: 7})
            if t % slots == slots - 1:
                for k in range(slots):
                    pool.renderer.render(qpos[t - slots + 1 + k], want)
                    assert torch.equal(pool.frames[k], want), (t, k)
        assert len(set(map(tuple, qpos.reshape(len(qpos), -1)))) == len(qpos)  # the states moved
