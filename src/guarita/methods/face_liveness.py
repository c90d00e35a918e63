"""Liveness by challenge: the person does two random movements and the frames must show the same
face doing them (``docs/face.md`` › Liveness).

The head pose is estimated from dlib's 5 landmarks alone (two corners of each eye and the base
of the nose), normalised by the distance between the eyes so that the distance to the camera
does not count:

- **yaw** (turning): the nose's horizontal offset from the middle of the eyes. The camera image
  is not mirrored, so a person turning to *their* left moves the nose to the image's right
  (the offset grows);
- **pitch** (tilting): the nose's vertical offset below the eye line. The base of the nose sits
  in front of the eyes, so raising the chin brings it closer to the eye line (the offset
  shrinks) and lowering it moves it away;
- **scale** (coming closer): the distance between the eyes in pixels grows.

The frames of each movement start where the person is when the instruction appears; the
movement counts when its own axis moves past a threshold in the asked direction and more than
the other axis. This resists a printed photo (no landmark moves relative to the others when a
flat picture is turned) and a replayed sequence (the movements are random per challenge and
frames are single use), not a deep-fake video answering in real time.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from guarita.methods.face_engine import FrameAnalysis, distance


class Movement(StrEnum):
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    TILT_UP = "tilt_up"
    TILT_DOWN = "tilt_down"
    COME_CLOSER = "come_closer"


INSTRUCTIONS: dict[Movement, str] = {
    Movement.TURN_LEFT: "Vire o rosto devagar para a sua esquerda.",
    Movement.TURN_RIGHT: "Vire o rosto devagar para a sua direita.",
    Movement.TILT_UP: "Levante o queixo, olhando um pouco para cima.",
    Movement.TILT_DOWN: "Abaixe o queixo, olhando um pouco para baixo.",
    Movement.COME_CLOSER: "Aproxime o rosto da câmera.",
}


@dataclass(frozen=True)
class LivenessLimits:
    min_turn: float = 0.045     # change of the nose's offset, in eye distances
    min_tilt: float = 0.045
    min_closer: float = 1.10    # the eyes' distance grows by at least 10 %
    min_frames_per_movement: int = 3
    same_person: float = 0.5    # the largest descriptor distance between any two frames
    min_pixel_change: float = 0.4  # mean absolute change of the face between frames, grey levels


def pick(count: int = 2) -> list[Movement]:
    """``count`` different movements in a random order (from ``secrets``: not guessable)."""
    pool = list(Movement)
    chosen: list[Movement] = []
    while len(chosen) < count:
        candidate = pool[secrets.randbelow(len(pool))]
        if candidate not in chosen:
            chosen.append(candidate)
    return chosen


@dataclass(frozen=True)
class Pose:
    yaw: float
    pitch: float
    scale: float


def pose(landmarks: np.ndarray) -> Pose:
    """The pose of a face from its 5 landmarks (see the module docstring)."""
    eye_a = landmarks[0:2].mean(0)
    eye_b = landmarks[2:4].mean(0)
    spacing = float(np.linalg.norm(eye_a - eye_b)) or 1.0
    middle = (eye_a + eye_b) / 2
    nose = landmarks[4]
    return Pose(yaw=float((nose[0] - middle[0]) / spacing),
                pitch=float((nose[1] - middle[1]) / spacing), scale=spacing)


def did(movement: Movement, start: Pose, moved: Pose, limits: LivenessLimits) -> bool:
    """True when ``moved`` shows ``movement`` done from ``start``."""
    yaw = moved.yaw - start.yaw
    pitch = moved.pitch - start.pitch
    grew = moved.scale / start.scale
    if movement is Movement.TURN_LEFT:
        return yaw >= limits.min_turn and yaw > abs(pitch)
    if movement is Movement.TURN_RIGHT:
        return -yaw >= limits.min_turn and -yaw > abs(pitch)
    if movement is Movement.TILT_UP:
        return -pitch >= limits.min_tilt and -pitch > abs(yaw)
    if movement is Movement.TILT_DOWN:
        return pitch >= limits.min_tilt and pitch > abs(yaw)
    return grew >= limits.min_closer


def segments(count: int, movements: int) -> list[range]:
    """The frames of each movement: the sequence split in order into equal parts."""
    size = count // movements
    return [range(i * size, (i + 1) * size if i < movements - 1 else count)
            for i in range(movements)]


class LivenessFailure(StrEnum):
    TOO_FEW_FRAMES = "too_few_frames"
    FRAMES_REPEATED = "frames_repeated"
    FRAMES_STILL = "frames_still"
    FACE_LOST = "face_lost"
    DIFFERENT_PEOPLE = "different_people"
    MOVEMENT_NOT_SEEN = "movement_not_seen"


def digest(frame: bytes) -> str:
    return hashlib.sha256(frame).hexdigest()


def check(frames: Sequence[bytes], greys: Sequence[np.ndarray], analyses: Sequence[FrameAnalysis],
          movements: Sequence[Movement], limits: LivenessLimits) -> LivenessFailure | None:
    """The ordered liveness checks; None when the sequence shows a live person moving as asked.

    ``greys`` are the decoded frames in grey levels (same size as analysed), used to tell a
    live capture (sensor noise, motion) from a picture sent several times.
    """
    if len(frames) < limits.min_frames_per_movement * len(movements):
        return LivenessFailure.TOO_FEW_FRAMES
    if len({digest(f) for f in frames}) != len(frames):
        return LivenessFailure.FRAMES_REPEATED
    if any(a.landmarks is None or a.faces != 1 for a in analyses):
        return LivenessFailure.FACE_LOST
    if _still(greys, analyses, limits):
        return LivenessFailure.FRAMES_STILL
    if _different_people(analyses, limits):
        return LivenessFailure.DIFFERENT_PEOPLE
    poses = [pose(a.landmarks) for a in analyses]  # type: ignore[arg-type]
    for movement, part in zip(movements, segments(len(frames), len(movements)), strict=True):
        start = poses[part.start]
        if not any(did(movement, start, poses[i], limits) for i in part[1:]):
            return LivenessFailure.MOVEMENT_NOT_SEEN
    return None


def _still(greys: Sequence[np.ndarray], analyses: Sequence[FrameAnalysis],
           limits: LivenessLimits) -> bool:
    """A picture re-encoded several times barely changes: consecutive faces must differ."""
    changes = []
    for before, after, found in zip(greys, greys[1:], analyses, strict=False):
        if before.shape != after.shape or found.box is None:
            changes.append(255.0)
            continue
        left, top, right, bottom = found.box
        changes.append(float(np.abs(after[top:bottom, left:right]
                                    - before[top:bottom, left:right]).mean()))
    return bool(changes) and float(np.median(changes)) < limits.min_pixel_change


def _different_people(analyses: Sequence[FrameAnalysis], limits: LivenessLimits) -> bool:
    described = [a.descriptor for a in analyses if a.descriptor is not None]
    if len(described) < 2:
        return False
    first = described[0]
    return any(distance(first, other) > limits.same_person for other in described[1:])
