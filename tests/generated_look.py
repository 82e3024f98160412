"""The generated look's images: stand-ins for the authors' sky, floor, body texture, MountainCar background and car
sprite, drawn in code (value noise, signed distances) for machines without the authors' files. vlmrm_sac.py reads the
files this writes into looks/generated/ (--look generated) and draws them as it draws the authors' (the MountainCar
frame: the car sprite rotated with the slope on the background); the small CLIPs in results/mini_clip/ were trained
on frames made with them.

    python tests/generated_look.py            # (re)writes looks/generated/
    python tests/generated_look.py --check    # fails unless the committed files are what this draws
"""

import argparse
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from vlmrm_sac import GENERATED_LOOK, MOUNTAINCAR_GOAL, MOUNTAINCAR_X_RANGE  # noqa: E402

MC_MIN_X, MC_MAX_X = MOUNTAINCAR_X_RANGE


def _value_noise(u: np.ndarray, v: np.ndarray, seed: int, period: int = 0) -> np.ndarray:
    """Smooth 2D value noise in [0, 1] at float coords (u, v); lattice of random values, smoothstep-blended.
    period > 0 makes the noise tile seamlessly (lattice indices wrap), needed for repeated textures."""
    rng = np.random.default_rng(seed)
    n = period if period > 0 else 256
    lattice = rng.random((n, n))
    iu, iv = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    fu, fv = u - iu, v - iv
    fu, fv = fu * fu * (3 - 2 * fu), fv * fv * (3 - 2 * fv)
    i0, i1, j0, j1 = iu % n, (iu + 1) % n, iv % n, (iv + 1) % n
    top = lattice[j0, i0] * (1 - fu) + lattice[j0, i1] * fu
    bot = lattice[j1, i0] * (1 - fu) + lattice[j1, i1] * fu
    return top * (1 - fv) + bot * fv


def _mc_height(x):
    return np.sin(3 * x) * 0.45 + 0.55  # gymnasium's MountainCar curve


def _mc_geometry(width, height):
    """Same world->pixel map as gymnasium's renderer: scale = W / 1.8 for both axes, y up from the bottom."""
    scale = width / (MC_MAX_X - MC_MIN_X)
    to_col = lambda x: (x - MC_MIN_X) * scale  # noqa: E731
    to_row = lambda y: height - y * scale  # noqa: E731  (image rows grow downwards)
    return scale, to_col, to_row


def _cover(sdf):
    """Anti-aliased coverage from a signed distance in pixels (negative inside)."""
    return np.clip(0.5 - sdf, 0.0, 1.0)


def _box_sdf(u, v, half_u, half_v):
    du, dv = np.abs(u) - half_u, np.abs(v) - half_v
    return np.hypot(np.maximum(du, 0), np.maximum(dv, 0)) + np.minimum(np.maximum(du, dv), 0)


def _blend(img, cov, rgb):
    img *= 1 - cov[..., None]
    img += cov[..., None] * np.asarray(rgb, np.float32)


def _fbm(u, v, seed, octaves=5, period=0):
    """Fractal sum of value noise (octaves halve in amplitude), normalised to roughly [0, 1]."""
    total, amp, norm = 0.0, 1.0, 0.0
    for o in range(octaves):
        f = 2**o
        total = total + amp * _value_noise(u * f, v * f, seed + o, period * f if period else 0)
        norm += amp
        amp *= 0.5
    return total / norm


def _sky_cross(face: int = 256) -> np.ndarray:
    """Skybox as a 3x4 cross (gridlayout '.U..LFRB.D..'): every pixel is coloured from its 3D view
    direction, so the six faces join without seams. Blue gradient + soft fbm clouds on a far plane."""
    s = (np.arange(face) + 0.5) / face * 2 - 1  # [-1, 1] across a face
    S, T = np.meshgrid(s, s)  # S: right, T: down in image space
    # MuJoCo's skybox is z-up; f/r are the world directions of the F and R faces (right-handed unfold)
    f, r, u = np.array([1.0, 0, 0]), np.array([0, -1.0, 0]), np.array([0, 0, 1.0])
    faces = {  # (row, col) in the cross -> direction field
        (0, 1): u + S[..., None] * r + T[..., None] * f,
        (1, 0): -r + S[..., None] * f - T[..., None] * u,
        (1, 1): f + S[..., None] * r - T[..., None] * u,
        (1, 2): r - S[..., None] * f - T[..., None] * u,
        (1, 3): -f - S[..., None] * r - T[..., None] * u,
        (2, 1): -u + S[..., None] * r - T[..., None] * f,
    }
    img = np.zeros((3 * face, 4 * face, 3), np.float64)
    for (row, column), d in faces.items():
        d = d / np.linalg.norm(d, axis=-1, keepdims=True)
        z = d[..., 2]
        el = np.clip(z, 0, 1)
        # sky: pale hazy horizon -> deeper blue at the zenith
        horizon, zenith = np.array([0.78, 0.86, 0.95]), np.array([0.22, 0.45, 0.82])
        t = (1 - (1 - el) ** 3)[..., None]
        sky = horizon * (1 - t) + zenith * t
        # clouds: fbm on a cloud layer at height 1 (perspective makes them flatten towards the horizon)
        zc = np.maximum(z, 0.04)
        cu, cv = d[..., 0] / zc * 0.9, d[..., 1] / zc * 0.9
        n = _fbm(cu + 37.0, cv + 11.0, seed=7, octaves=5)
        cover = np.clip((n - 0.48) / 0.22, 0, 1) ** 1.5  # soft threshold -> separated puffy clouds
        cover *= np.clip(z / 0.05, 0, 1)  # fade into haze right at the horizon
        shade = 0.88 + 0.12 * np.clip((n - 0.48) / 0.3, 0, 1)  # slightly brighter cloud cores
        rgb = sky * (1 - cover[..., None]) + shade[..., None] * cover[..., None]
        # below the horizon el = 0, so the sky keeps its horizon haze colour: no band beyond the floor's edge
        img[row * face : (row + 1) * face, column * face : (column + 1) * face] = rgb
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def _slate_tiles(size: int = 256) -> np.ndarray:
    """Dark slate floor: 2x2 tiles per texture repeat, per-tile tone, fine stone grain, dark grout.
    Noise is periodic so the 60x60 repetition shows no seams."""
    y, x = np.mgrid[0:size, 0:size] + 0.5
    half = size // 2
    tile_id = (y // half) * 2 + (x // half)
    tone = np.array([0.23, 0.26, 0.21, 0.25])[tile_id.astype(int)]  # slightly different slabs
    grain = _fbm(x / size * 8, y / size * 8, seed=21, octaves=4, period=8)
    gray = tone + 0.07 * (grain - 0.5)
    # grout: distance to the nearest tile edge (edges at 0, half, size), darkened within ~3 px
    d = np.minimum(np.abs(((x + half / 2) % half) - half / 2), np.abs(((y + half / 2) % half) - half / 2))
    gray = np.where(d < 2.5, 0.09, gray)
    rgb = gray[..., None] * np.array([0.92, 0.98, 1.06])  # cool blue-grey slate
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def _brushed_metal(size: int = 128) -> np.ndarray:
    """Light-grey brushed metal: fine streaks along one axis (noise stretched 64x along u)."""
    y, x = np.mgrid[0:size, 0:size] + 0.5
    streak = _fbm(x / size * 2, y / size * 64, seed=3, octaves=3, period=2)
    gray = 0.74 + 0.10 * (streak - 0.5)
    rgb = gray[..., None] * np.array([0.98, 1.0, 1.02])
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def mc_background(width: int, height: int) -> np.ndarray:
    """MountainCar's static scene (everything but the car), uint8 RGB: the stand-in for the authors' photograph."""
    scale, to_col, to_row = _mc_geometry(width, height)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    k = width / 600.0  # texture sizes follow the frame size
    # sky: deep blue at the top -> pale near the bottom, with faint wispy clouds
    t = (rows / height)[..., None]
    img = np.array([0.30, 0.52, 0.85]) * (1 - t) + np.array([0.80, 0.88, 0.96]) * t
    clouds = np.clip((_fbm(cols / (90 * k), rows / (30 * k), seed=11, octaves=4) - 0.55) / 0.2, 0, 1)
    _blend(img, 0.8 * clouds * (1 - t[..., 0]), (1.0, 1.0, 1.0))
    # distant bluish hills behind the track (a few sines + noise), for a landscape feel
    xw = MC_MIN_X + cols[0] / scale
    ridge = 0.62 + 0.10 * np.sin(2.1 * xw + 0.7) + 0.05 * np.sin(5.3 * xw + 2.0) + 0.04 * (_fbm(cols[0] / (40 * k), np.zeros(width), seed=5) - 0.5)
    hill_d = rows - to_row(ridge)[None, :]  # depth below the far ridge line
    hill_n = _fbm(cols / (30 * k), rows / (15 * k), seed=13, octaves=4)
    hill = np.array([0.40, 0.50, 0.62]) + (0.08 * (hill_n - 0.5) + 0.18 * np.clip(hill_d / (height * 0.5), 0, 1))[..., None]
    img = img * (1 - _cover(-hill_d)[..., None]) + hill * _cover(-hill_d)[..., None]  # hazier (lighter) further down
    # mountain: column-wise surface row; d = depth (px) below the surface
    surf = to_row(_mc_height(xw))[None, :]
    d = rows - surf
    inside = _cover(-d)  # anti-aliased silhouette of the surface
    rock_n = _fbm(cols / (25 * k), rows / (12 * k), seed=17, octaves=5)  # stretched -> layered strata
    rock = (0.42 + 0.30 * (rock_n - 0.5))[..., None] * np.array([1.0, 0.9, 0.78])  # brown-grey rock
    rock *= (1 - 0.25 * np.clip(d / (height * 0.6), 0, 1))[..., None]  # darker deeper down
    grass_n = _fbm(cols / (6 * k), rows / (3 * k), seed=23, octaves=3)
    grass = (0.75 + 0.5 * (grass_n - 0.5))[..., None] * np.array([0.30, 0.62, 0.22])
    band = 10 * k + 4 * k * _fbm(cols[0] / (20 * k), np.zeros(width), seed=29)[None, :]  # ragged grass edge
    g = np.clip((band - d) / 1.5, 0, 1)[..., None]
    ground = grass * g + rock * (1 - g)
    img = img * (1 - inside[..., None]) + ground * inside[..., None]
    # flag at the goal: dark pole + bright yellow pennant (static, so part of the background)
    fx, fy = to_col(MOUNTAINCAR_GOAL), to_row(_mc_height(MOUNTAINCAR_GOAL))
    pole_top = fy - 55 * k
    pole = _cover(_box_sdf(cols - fx, rows - (fy + pole_top) / 2, 1.5 * k, (fy - pole_top) / 2))
    _blend(img, pole, (0.15, 0.15, 0.15))
    # pennant: triangle pointing right from the pole top (sdf of its three edges)
    pu, pv = cols - fx, rows - pole_top
    tri = np.maximum.reduce([-pu, np.abs(pv - 9 * k) - 9 * k + pu * (9 / 28), pu - 28 * k])
    _blend(img, _cover(tri), (0.98, 0.85, 0.05))
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def mc_car(width: int = 52, height: int = 34) -> np.ndarray:
    """The MountainCar sprite, RGBA uint8: a red car, transparent around it, its wheels touching the track 15 px
    below the sprite's centre (where the authors' renderer puts the centre: 15 px above the track)."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    u, v = cols - width / 2, height / 2 + 15 - rows  # u along the car, v up from the track
    wheel_r = 7
    body = _box_sdf(u, v - (wheel_r + 7), 22, 6) - 2  # rounded chassis above the wheels
    cabin = _box_sdf(u + 3, v - (wheel_r + 17), 11, 5) - 2
    window = _box_sdf(u + 3, v - (wheel_r + 17), 8, 3) - 1
    parts = [(_cover(np.minimum(body, cabin)), (0.85, 0.08, 0.06)), (_cover(window), (0.70, 0.85, 0.95))]
    for wu in (-13, 13):
        dist = np.hypot(u - wu, v - wheel_r)
        parts += [(_cover(dist - wheel_r), (0.08, 0.08, 0.08)), (_cover(dist - 0.4 * wheel_r), (0.60, 0.60, 0.62))]
    colour, alpha = np.zeros((height, width, 3)), np.zeros((height, width))  # colour premultiplied by alpha
    for cover, rgb in parts:
        _blend(colour, cover, rgb)
        alpha = alpha * (1 - cover) + cover
    rgb = np.divide(colour, alpha[..., None], out=np.zeros_like(colour), where=alpha[..., None] > 0)
    return (np.clip(np.concatenate([rgb, alpha[..., None]], -1), 0, 1) * 255).round().astype(np.uint8)


def images() -> dict:
    """{file name: uint8 image}, named as the authors' files are."""
    return {"sky.png": _sky_cross(), "tiles.png": _slate_tiles(), "robot.png": _brushed_metal(),
            "mountain_car_background.png": mc_background(600, 400), "mountain_car.png": mc_car()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = parser.parse_args()
    GENERATED_LOOK.mkdir(parents=True, exist_ok=True)
    for name, image in images().items():
        path = GENERATED_LOOK / name
        if args.check:
            if not np.array_equal(iio.imread(path), image):
                raise SystemExit(f"error: {path} is not what tests/generated_look.py draws")
        else:
            iio.imwrite(path, image)
    print("checked" if args.check else "wrote", ", ".join(images()), "in", GENERATED_LOOK)


if __name__ == "__main__":
    main()
