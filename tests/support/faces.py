"""Faces for tests, from photos that ship inside packages (``docs/face.md`` › Test faces).

- ``astronaut``: ``skimage.data.astronaut()`` (Eileen Collins, NASA, public domain), cropped
  around the face and enlarged 2× so the face is ~180 px wide, as in a phone selfie;
- ``grace``: matplotlib's ``grace_hopper.jpg`` sample (US Navy, public domain).

Head movements are synthesised by warping a photo (:func:`movement_frames`): a smooth Gaussian
displacement field centred on the base of the nose moves the nose relative to the eyes, which is
what the 5-point landmarks see of a turn (horizontal) or a tilt (vertical); coming closer is a
centred zoom. Every frame gets a little random sensor noise, so no two frames are identical, as
in a real capture. A "still photo" is the same picture re-encoded for every frame.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

SHIFT = 16.0  # pixels the nose moves at the end of a synthetic turn or tilt
CLOSER = 1.22


@cache
def astronaut() -> np.ndarray:
    from skimage import data

    face = Image.fromarray(data.astronaut()).crop((100, 0, 340, 240))
    return np.asarray(face.resize((480, 480), Image.Resampling.LANCZOS))


@cache
def grace() -> np.ndarray:
    import matplotlib.cbook as cbook

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


@cache
def _nose(which: str) -> tuple[float, float]:
    from guarita.methods.face_engine import QualityLimits, analyse

    found = analyse(PHOTOS[which](), QualityLimits(), describe=False)
    assert found.landmarks is not None, which
    return float(found.landmarks[4][0]), float(found.landmarks[4][1])


def warp_nose(rgb: np.ndarray, centre: tuple[float, float], dx: float, dy: float,
              sigma: float | None = None) -> np.ndarray:
    """Moves the region around ``centre`` by (dx, dy) pixels with a Gaussian fall-off."""
    from scipy.ndimage import map_coordinates

    height, width = rgb.shape[:2]
    sigma = sigma or width * 0.085
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    weight = np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * sigma**2))
    sx = np.clip(xx - dx * weight, 0, width - 1)
    sy = np.clip(yy - dy * weight, 0, height - 1)
    return np.stack([map_coordinates(rgb[..., c], [sy, sx], order=1) for c in range(3)],
                    -1).astype(np.uint8)


def zoom(rgb: np.ndarray, factor: float) -> np.ndarray:
    height, width = rgb.shape[:2]
    w, h = int(width / factor), int(height / factor)
    left, top = (width - w) // 2, (height - h) // 2
    crop = Image.fromarray(rgb).crop((left, top, left + w, top + h))
    return np.asarray(crop.resize((width, height), Image.Resampling.BILINEAR))


def noisy(rgb: np.ndarray, rng: np.random.Generator, level: float = 3.0) -> np.ndarray:
    noise = rng.normal(0, level, rgb.shape)
    return np.clip(rgb.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def posed(which: str, movement: str, amount: float) -> np.ndarray:
    """The photo ``which`` with ``movement`` done to ``amount`` (0 = neutral, 1 = complete)."""
    rgb = PHOTOS[which]()
    if movement == "come_closer":
        return zoom(rgb, 1 + (CLOSER - 1) * amount)
    dx, dy = {"turn_left": (SHIFT, 0), "turn_right": (-SHIFT, 0),
              "tilt_up": (0, -SHIFT), "tilt_down": (0, SHIFT)}[movement]
    return warp_nose(rgb, _nose(which), dx * amount, dy * amount)


def movement_rgb(which: str | Sequence[str], movements: Sequence[str],
                 per_movement: int = 4, seed: int = 1) -> list[np.ndarray]:
    """Frames of ``which`` doing ``movements``; a list of photos gives one per movement (two
    people taking turns)."""
    rng = np.random.default_rng(seed)
    people = [which] * len(movements) if isinstance(which, str) else list(which)
    frames = []
    for person, movement in zip(people, movements, strict=True):
        for step in range(per_movement):
            amount = step / (per_movement - 1)
            frames.append(noisy(posed(person, movement, amount), rng))
    return frames


def movement_frames(which: str | Sequence[str], movements: Sequence[str],
                    per_movement: int = 4, seed: int = 1) -> list[bytes]:
    return [jpeg(f) for f in movement_rgb(which, movements, per_movement, seed)]


def still_frames(which: str, count: int = 8) -> list[bytes]:
    """A printed photo held still: the same picture at slightly different JPEG qualities (so the
    bytes differ but nothing moves)."""
    rgb = PHOTOS[which]()
    return [jpeg(rgb, quality=80 + i) for i in range(count)]


AUGMENTATIONS = ("original", "crop", "mirror", "darker", "brighter", "rotate_8", "rotate_-8",
                 "jpeg_20", "small")


def augment(rgb: np.ndarray, kind: str) -> np.ndarray:
    """The variations of one photo used to calibrate the threshold (``docs/face.md``)."""
    image = Image.fromarray(rgb)
    width, height = image.size
    if kind == "crop":
        image = image.crop((width // 12, height // 12, width - width // 12, height - height // 20))
    elif kind == "mirror":
        image = ImageOps.mirror(image)
    elif kind == "darker":
        image = ImageEnhance.Brightness(image).enhance(0.7)
    elif kind == "brighter":
        image = ImageEnhance.Brightness(image).enhance(1.25)
    elif kind.startswith("rotate_"):
        image = image.rotate(float(kind.split("_")[1]), resample=Image.Resampling.BILINEAR)
    elif kind.startswith("jpeg_"):
        with Image.open(io.BytesIO(jpeg(rgb, quality=int(kind.split("_")[1])))) as reopened:
            image = reopened.convert("RGB")
    elif kind == "small":
        image = image.resize((int(width * 0.7), int(height * 0.7)), Image.Resampling.BILINEAR)
    return np.asarray(image)


PHOTOS = {"astronaut": astronaut, "grace": grace}
