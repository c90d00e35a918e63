"""The offline face engine: dlib's frontal detector, its 5-point landmark model and its ResNet
128-d descriptor, shipped by the ``face-recognition-models`` package (``docs/face.md``).

- Nothing is downloaded at run time: the model files come from the installed package, found
  without importing it (its ``__init__`` needs ``pkg_resources``, which is not installed).
- The 5-point model only: the 68-point model's licence (iBUG 300-W) excludes commercial use.
- The models load lazily, once per thread of the bounded pool (dlib's objects are not safe to
  share between threads): a worker that never sees a selfie never pays for them.
- Every call here is CPU work; callers run it on :data:`POOL` through :func:`run`, a bounded
  thread pool, never on the event loop.

Quality checks follow what Datavalid asks of a selfie (one frontal face, large enough, lit, in
focus, eyes visible) and each failure carries a plain pt-BR instruction.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

MODELS_PACKAGE = "face_recognition_models"
SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
# Frames are reduced to this longest side before detection: the detector's cost grows with the
# area and a face filling a phone frame is still ~150 px wide at this size.
WORK_SIDE = 640


class QualityProblem(StrEnum):
    """Why a frame cannot be used, each with the instruction a person reads."""

    NO_FACE = "no_face"
    MANY_FACES = "many_faces"
    FACE_TOO_SMALL = "face_too_small"
    TOO_DARK = "too_dark"
    TOO_BLURRY = "too_blurry"
    EYES_NOT_VISIBLE = "eyes_not_visible"
    UNREADABLE = "unreadable"


INSTRUCTIONS: dict[QualityProblem, str] = {
    QualityProblem.NO_FACE: "Não encontramos um rosto. Olhe de frente para a câmera, com o rosto inteiro na tela.",
    QualityProblem.MANY_FACES: "Aparece mais de um rosto. Fique sozinho na frente da câmera.",
    QualityProblem.FACE_TOO_SMALL: "O rosto está pequeno demais. Aproxime o celular do rosto.",
    QualityProblem.TOO_DARK: "A imagem está escura. Procure um lugar mais claro, com a luz à sua frente.",
    QualityProblem.TOO_BLURRY: "A imagem está tremida ou desfocada. Segure o celular firme e limpe a câmera.",
    QualityProblem.EYES_NOT_VISIBLE: (
        "Não conseguimos ver seus olhos. Tire óculos escuros, boné ou o que cobrir o rosto."),
    QualityProblem.UNREADABLE: "Não conseguimos ler a imagem enviada. Tente de novo.",
}


@dataclass(frozen=True)
class QualityLimits:
    min_face_px: int = 80
    min_brightness: float = 55.0   # mean luminance of the face box, 0–255
    min_sharpness: float = 12.0    # variance of the Laplacian of the face box, grey levels²
    min_eye_contrast: float = 6.0  # standard deviation around each eye, grey levels


@dataclass(frozen=True)
class FrameAnalysis:
    """One frame: the face found (box and the 5 landmarks) and, when asked, its descriptor."""

    width: int
    height: int
    box: tuple[int, int, int, int] | None = None  # left, top, right, bottom
    landmarks: np.ndarray | None = None           # 5 × 2: right eye (2), left eye (2), nose
    descriptor: np.ndarray | None = None          # 128 floats
    problem: QualityProblem | None = None
    faces: int = 0

    @property
    def usable(self) -> bool:
        return self.problem is None


class _Models:
    """dlib's models, loaded on first use by each pool thread, once.

    dlib's objects are not safe to share between threads: the descriptor network keeps its
    layers' outputs inside itself, and sharing the detector too gave wrong answers under load
    (a face not found when two photos were analysed at once). Each of the pool's threads
    (``GUARITA_FACE__WORKERS``, 2 by default) therefore loads its own set, ~40 MB each; the
    pool is bounded, so the copies are too.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._loads = 0
        self._lock = threading.Lock()

    def directory(self) -> Path:
        spec = importlib.util.find_spec(MODELS_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("O pacote face-recognition-models não está instalado.")
        return Path(next(iter(spec.submodule_search_locations))) / "models"

    def get(self) -> tuple[Any, Any, Any]:
        found = getattr(self._local, "models", None)
        if found is None:
            import dlib  # heavy: imported only when a face is analysed

            folder = self.directory()
            found = (dlib.get_frontal_face_detector(),
                     dlib.shape_predictor(str(folder / SHAPE_MODEL)),
                     dlib.face_recognition_model_v1(str(folder / DESCRIPTOR_MODEL)))
            self._local.models = found
            with self._lock:
                self._loads += 1
        return found

    @property
    def loaded(self) -> bool:
        return self._loads > 0


MODELS = _Models()
_POOL_LOCK = threading.Lock()
_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 2


def configure_pool(size: int) -> None:
    """Sets the pool's size before its first use (``GUARITA_FACE__WORKERS``)."""
    global _POOL_SIZE
    _POOL_SIZE = max(1, size)


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=_POOL_SIZE, thread_name_prefix="face")
        return _POOL


async def run(function: Any, *args: Any) -> Any:
    """Runs CPU work of this module off the event loop, at most ``workers`` at a time."""
    return await asyncio.get_running_loop().run_in_executor(_pool(), function, *args)


# --- decoding -----------------------------------------------------------------------------------


def decode(data: bytes) -> np.ndarray | None:
    """A JPEG or PNG as an RGB array reduced to :data:`WORK_SIDE`; None when unreadable."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("JPEG", "PNG"):
                return None
            # Decompression bombs: a frame is a phone photo, not a poster.
            if image.width * image.height > 40_000_000:
                return None
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((WORK_SIDE, WORK_SIDE))
            return np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def grey(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.float32)


def _laplacian_variance(img: np.ndarray) -> float:
    if img.shape[0] < 3 or img.shape[1] < 3:
        return 0.0
    lap = (img[1:-1, :-2] + img[1:-1, 2:] + img[:-2, 1:-1] + img[2:, 1:-1] - 4 * img[1:-1, 1:-1])
    return float(lap.var())


# --- analysis -----------------------------------------------------------------------------------


def analyse(rgb: np.ndarray, limits: QualityLimits, *, describe: bool = True) -> FrameAnalysis:
    """Finds exactly one face, checks its quality and (``describe``) computes its descriptor."""
    detector, shaper, describer = MODELS.get()
    height, width = rgb.shape[:2]
    found = list(detector(rgb, 0))
    if len(found) > 1:
        # A second face much smaller than the first is a face in a poster or a passer-by far
        # behind; still refused: the rule is "alone in front of the camera".
        return FrameAnalysis(width, height, problem=QualityProblem.MANY_FACES, faces=len(found))
    if not found:
        return FrameAnalysis(width, height, problem=QualityProblem.NO_FACE)
    rect = found[0]
    box = (max(0, rect.left()), max(0, rect.top()), min(width, rect.right()),
           min(height, rect.bottom()))
    shape = shaper(rgb, rect)
    points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    problem = quality_problem(rgb, box, points, limits)
    descriptor = None
    if problem is None and describe:
        descriptor = np.array(describer.compute_face_descriptor(rgb, shape), dtype=np.float64)
    return FrameAnalysis(width, height, box=box, landmarks=points, descriptor=descriptor,
                         problem=problem, faces=1)


def quality_problem(rgb: np.ndarray, box: tuple[int, int, int, int], points: np.ndarray,
                    limits: QualityLimits) -> QualityProblem | None:
    """The ordered quality checks (DESIGN.md › house rule 5): size, light, focus, eyes."""
    left, top, right, bottom = box
    if min(right - left, bottom - top) < limits.min_face_px:
        return QualityProblem.FACE_TOO_SMALL
    face = grey(rgb[top:bottom, left:right])
    if face.size == 0:
        return QualityProblem.NO_FACE
    if float(face.mean()) < limits.min_brightness:
        return QualityProblem.TOO_DARK
    if _laplacian_variance(face) < limits.min_sharpness:
        return QualityProblem.TOO_BLURRY
    if not _eyes_visible(grey(rgb), points, limits):
        return QualityProblem.EYES_NOT_VISIBLE
    return None


def _eyes_visible(img: np.ndarray, points: np.ndarray, limits: QualityLimits) -> bool:
    """Both eyes inside the frame with texture around them (dark glasses and hands are flat)."""
    height, width = img.shape
    spacing = float(np.linalg.norm(points[0:2].mean(0) - points[2:4].mean(0)))
    radius = max(3, int(spacing * 0.18))
    for eye in (points[0:2].mean(0), points[2:4].mean(0)):
        x, y = int(eye[0]), int(eye[1])
        if not (radius <= x < width - radius and radius <= y < height - radius):
            return False
        patch = img[y - radius:y + radius, x - radius:x + radius]
        if float(patch.std()) < limits.min_eye_contrast:
            return False
    return True


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two descriptors: dlib's model puts one person under ~0.6."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def template_of(data: bytes, limits: QualityLimits) -> tuple[np.ndarray | None, QualityProblem | None]:
    """The descriptor of a reference photo, or why it has no usable face."""
    rgb = decode(data)
    if rgb is None:
        return None, QualityProblem.UNREADABLE
    found = analyse(rgb, limits)
    return found.descriptor, found.problem
