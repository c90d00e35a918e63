"""Validação facial: a selfie doing two random movements, compared with a trusted face
(``docs/face.md``; LGPD art. 11 for biometric data, art. 20 for the human review of a refusal).

``start`` picks the movements and a single-use challenge id; the service keeps its hash with an
expiry. ``verify`` takes the frames the browser filmed and runs, in order (DESIGN.md › house
rule 5):

1. **quality** of the first frame (one face, large enough, lit, in focus, eyes visible), each
   refusal with a plain instruction (``face_quality`` + ``reason``);
2. **liveness** (``methods/face_liveness.py``): the same face, frames that differ as a live
   capture does, the movements asked, in order (``liveness_failed``);
3. **match** by the deployment's :class:`FaceMatcher`: offline against the reference template
   (dlib's distance under the calibrated threshold), or SERPRO Datavalid against the CNH photo
   (``face_not_matched``).

A person without a reference goes through the same steps and ends in ``face_not_matched``, like
a stranger: the method list offers ``face`` to everyone alike (SECURITY.md › Account
enumeration). CPU work runs on the engine's bounded pool, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import numpy as np

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.evidence import EvidenceKind
from guarita.methods import face_engine as engine
from guarita.methods import face_liveness as liveness
from guarita.methods.base import (
    N_,
    MethodContext,
    Outcome,
    Principal,
    Proof,
    Purpose,
    Step,
    StepKind,
)
from guarita.methods.face_datavalid import PHOTO_NOT_AVAILABLE, DatavalidClient, DatavalidError


class Source:
    """Where the trusted face came from: recorded with the evidence of a pass."""

    REGISTRY = "registry"
    IN_PERSON = "in_person"
    DATAVALID = "datavalid"


@dataclass(frozen=True)
class Reference:
    descriptor: np.ndarray
    source: str


class FacePort(Protocol):
    """What the face method asks of the service about the person being proven."""

    async def reference(self) -> Reference | None: ...

    async def cpf(self) -> str | None: ...


@dataclass(frozen=True)
class Probe:
    jpeg: bytes              # the frontal frame, as Datavalid wants it
    descriptor: np.ndarray


@dataclass(frozen=True)
class Match:
    matched: bool
    source: str | None = None
    score: float | None = None


class FaceMatcher(Protocol):
    """Compares a live face with the person's trusted one. One per deployment."""

    name: str

    async def match(self, faces: FacePort, probe: Probe) -> Match: ...


@dataclass
class OfflineMatcher:
    """dlib's descriptor distance against the reference template (``docs/face.md``)."""

    threshold: float
    name: str = "offline"

    async def match(self, faces: FacePort, probe: Probe) -> Match:
        reference = await faces.reference()
        if reference is None:
            return Match(False)
        gap = engine.distance(reference.descriptor, probe.descriptor)
        return Match(gap <= self.threshold, source=reference.source, score=round(gap, 4))


@dataclass
class DatavalidMatcher:
    """SERPRO Datavalid against the CNH photo of the person's CPF."""

    client: DatavalidClient
    min_similarity: float
    name: str = "datavalid"

    async def match(self, faces: FacePort, probe: Probe) -> Match:
        cpf = await faces.cpf()
        if cpf is None:
            return Match(False)
        try:
            answer = await self.client.compare(cpf, probe.jpeg)
        except DatavalidError as error:
            if error.code == PHOTO_NOT_AVAILABLE:
                return Match(False, source=Source.DATAVALID)
            raise
        matched = answer.available and answer.similarity >= self.min_similarity
        return Match(matched, source=Source.DATAVALID, score=answer.similarity)


_MATCHERS: dict[tuple[Any, ...], FaceMatcher] = {}


def matcher_for(settings: Any) -> FaceMatcher:
    """The deployment's matcher; one per settings, so Datavalid's token is reused."""
    face = settings.face
    secret = face.datavalid_consumer_secret.get_secret_value() if face.datavalid_consumer_secret else ""
    key = (face.provider, face.threshold, face.datavalid_url, face.datavalid_token_url,
           face.datavalid_consumer_key, secret, face.datavalid_timeout_seconds,
           face.datavalid_min_similarity)
    found = _MATCHERS.get(key)
    if found is None:
        if face.provider == "datavalid":
            found = DatavalidMatcher(DatavalidClient(
                token_url=face.datavalid_token_url, url=face.datavalid_url,
                consumer_key=face.datavalid_consumer_key or "", consumer_secret=secret,
                timeout=face.datavalid_timeout_seconds), face.datavalid_min_similarity)
        else:
            found = OfflineMatcher(face.threshold)
        _MATCHERS[key] = found
    return found


def limits_of(settings: Any) -> tuple[engine.QualityLimits, liveness.LivenessLimits]:
    face = settings.face
    return (engine.QualityLimits(min_face_px=face.min_face_px),
            liveness.LivenessLimits(min_frames_per_movement=face.min_frames_per_movement,
                                    same_person=face.threshold))


def quality_error(problem: engine.QualityProblem) -> GuaritaError:
    return GuaritaError(ErrorCode.FACE_QUALITY, message=engine.INSTRUCTIONS[problem],
                        details={"reason": problem.value})


@dataclass(frozen=True)
class Analysed:
    analyses: list[engine.FrameAnalysis]
    greys: list[np.ndarray]
    unreadable: bool = False


def analyse_frames(frames: Sequence[bytes], limits: engine.QualityLimits) -> Analysed:
    """Decodes and analyses every frame (CPU work: call through ``engine.run``)."""
    analyses, greys = [], []
    for frame in frames:
        rgb = engine.decode(frame)
        if rgb is None:
            return Analysed([], [], unreadable=True)
        analyses.append(engine.analyse(rgb, limits))
        greys.append(engine.grey(rgb))
    return Analysed(analyses, greys)


class FaceMethod:
    id = "face"
    amr = "face"  # RFC 8176 §2: biometric authentication using facial recognition
    proves = Proof.INHERENCE
    evidence = EvidenceKind.FACE
    purposes = frozenset({Purpose.RECOVERY})
    label = N_("Validação facial (selfie)")
    short_label = N_("Validação facial")

    def hint(self, principal: Principal) -> str | None:
        return None

    async def start(self, ctx: MethodContext, flow: Any, principal: Principal) -> Step:
        fixed = ctx.settings.face.fixed_movements
        movements = ([liveness.Movement(m) for m in fixed]
                     if fixed and not ctx.settings.production
                     else liveness.pick(ctx.settings.face.movements))
        expires = ctx.now + timedelta(seconds=ctx.settings.face.challenge_seconds)
        return Step(
            method=self.id, kind=StepKind.CAMERA, title=N_("Validação facial"),
            text=N_("Vamos filmar seu rosto por poucos segundos enquanto você faz dois "
                    "movimentos. Nenhuma foto fica guardada."),
            submit=N_("Começar"),
            challenge={
                "movements": [m.value for m in movements],
                "instructions": [liveness.INSTRUCTIONS[m] for m in movements],
                "expires_at": expires.isoformat(),
                "seconds_per_movement": 1.2,
            },
        )

    async def verify(self, ctx: MethodContext, flow: Any, answer: Mapping[str, Any]) -> Outcome:
        """``answer``: ``frames`` (JPEG bytes, in order) and the challenge's ``movements``;
        ``faces`` is the :class:`FacePort` of the person. Raises the three face errors."""
        frames: Sequence[bytes] = answer.get("frames") or ()
        movements = [liveness.Movement(m) for m in answer.get("movements") or ()]
        faces: FacePort = answer["faces"]
        settings = ctx.settings
        quality, live = limits_of(settings)
        if not frames or not movements:
            raise quality_error(engine.QualityProblem.NO_FACE)
        found: Analysed = await engine.run(analyse_frames, list(frames), quality)
        if found.unreadable:
            raise quality_error(engine.QualityProblem.UNREADABLE)
        first = found.analyses[0]
        if first.problem is not None:
            raise quality_error(first.problem)
        if any(a.problem is engine.QualityProblem.MANY_FACES for a in found.analyses):
            raise quality_error(engine.QualityProblem.MANY_FACES)
        failure = liveness.check(frames, found.greys, found.analyses, movements, live)
        if failure is not None:
            raise GuaritaError(ErrorCode.LIVENESS_FAILED, details={"reason": failure.value})
        assert first.descriptor is not None
        match = await matcher_for(settings).match(faces, Probe(frames[0], first.descriptor))
        # ``liveness``: the movements were checked above, so a pass is a face proven alive
        # (the trust table tells a live face from a photo compared once).
        details = {"source": match.source, "score": match.score,
                   "matcher": matcher_for(settings).name, "liveness": True}
        if not match.matched:
            return Outcome(ok=False, method=self.id, amr=self.amr, proof=self.proves,
                           details=details)
        return Outcome(ok=True, method=self.id, amr=self.amr, proof=self.proves,
                       evidence=self.evidence, details=details)


METHOD = FaceMethod()
