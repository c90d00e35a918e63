"""Benchmark of the facial validation (docs/face.md › Performance): one table.

    .venv/bin/python bench/face.py [--photos 1000] [--quick]

- calibration: dlib distances between the package photos and their augmentations (same person)
  and across the two people, with false matches / false non-matches at the threshold;
- CPU ms per verification: quality + liveness + match over a challenge's frames (2 movements,
  4 frames each), the way the server runs it (``methods/face.analyse_frames`` + liveness + the
  distance to a reference);
- CPU ms per reference template at import (``face_engine.template_of`` on a photo);
- templates per second for a folder of N augmented photos through the bounded pool
  (``GUARITA_FACE__WORKERS`` threads, 2 by default), wall clock;
- peak RSS added by the models (``ru_maxrss`` before the first face and at the end).

CPU time is ``time.process_time`` of this process (every pool thread counts), so figures depend
little on what else the machine runs; wall-clock templates/s does depend on it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.support import faces  # noqa: E402

from guarita.methods import face as face_method  # noqa: E402
from guarita.methods import face_engine as engine  # noqa: E402
from guarita.methods import face_liveness as liveness  # noqa: E402

THRESHOLD = 0.5


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def calibration(limits: engine.QualityLimits) -> tuple[list[tuple[str, str, float]], dict]:
    described = {}
    for who, make in faces.PHOTOS.items():
        for kind in faces.AUGMENTATIONS:
            found = engine.analyse(faces.augment(make(), kind), limits)
            if found.descriptor is not None:
                described[(who, kind)] = found.descriptor
    rows = []
    same, other = [], []
    for (a, da), (b, db) in itertools.combinations(described.items(), 2):
        gap = engine.distance(da, db)
        (same if a[0] == b[0] else other).append(gap)
        if a[1] == "original" or b[1] == "original":
            rows.append((f"{a[0]}:{a[1]}", f"{b[0]}:{b[1]}", gap))
    summary = {"described": len(described), "same": same, "other": other,
               "false_non_match": sum(g > THRESHOLD for g in same),
               "false_match": sum(g <= THRESHOLD for g in other)}
    return rows, summary


def verification_ms(limits: engine.QualityLimits, rounds: int) -> float:
    reference = engine.analyse(faces.astronaut(), limits).descriptor
    live_limits = liveness.LivenessLimits(same_person=THRESHOLD)
    movements = ["turn_left", "tilt_up"]
    sequences = [faces.movement_frames("astronaut", movements, seed=s) for s in range(rounds)]
    began = time.process_time()
    for frames in sequences:
        found = face_method.analyse_frames(frames, limits)
        assert liveness.check(frames, found.greys, found.analyses,
                              [liveness.Movement(m) for m in movements], live_limits) is None
        assert engine.distance(reference, found.analyses[0].descriptor) <= THRESHOLD
    return (time.process_time() - began) * 1000 / rounds


def template_ms(rounds: int) -> float:
    photo = faces.jpeg(faces.grace())
    limits = engine.QualityLimits()
    began = time.process_time()
    for _ in range(rounds):
        descriptor, problem = engine.template_of(photo, limits)
        assert problem is None and descriptor is not None
    return (time.process_time() - began) * 1000 / rounds


async def templates_per_second(count: int) -> tuple[float, float, int]:
    limits = engine.QualityLimits()
    kinds = list(faces.AUGMENTATIONS)
    photos = []
    for i in range(count):
        who = "astronaut" if i % 2 else "grace"
        rgb = faces.augment(faces.PHOTOS[who](), kinds[i % len(kinds)])
        photos.append(faces.jpeg(faces.noisy(rgb, __import__("numpy").random.default_rng(i), 1.0)))
    began, cpu = time.perf_counter(), time.process_time()
    results = await asyncio.gather(*(engine.run(engine.template_of, p, limits) for p in photos))
    wall = time.perf_counter() - began
    failed = sum(1 for _, problem in results if problem is not None)
    return count / wall, (time.process_time() - cpu) * 1000 / count, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="100 photos, fewer rounds")
    args = parser.parse_args()
    photos = 100 if args.quick else args.photos
    rounds = 2 if args.quick else 5
    limits = engine.QualityLimits()
    before = rss_mb()
    load = time.perf_counter()
    engine.MODELS.get()
    load = time.perf_counter() - load
    rows, summary = calibration(limits)
    verify = verification_ms(limits, rounds)
    template = template_ms(rounds * 2)
    per_second, per_photo_cpu, failed = asyncio.run(templates_per_second(photos))
    added = rss_mb() - before

    print("\n## Distances from each original photo (dlib ResNet, euclidean)\n")
    print("| photo | compared with | distance |")
    print("|---|---|---|")
    for a, b, gap in sorted(rows, key=lambda r: (r[0].split(":")[0] != r[1].split(":")[0], r[2])):
        print(f"| {a} | {b} | {gap:.3f} |")
    same, other = summary["same"], summary["other"]
    print("\n## Facial validation benchmark\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| photos described (2 people × {len(faces.AUGMENTATIONS)} variants) | {summary['described']} |")
    print(f"| same-person pairs: distance min / max | {min(same):.3f} / {max(same):.3f} ({len(same)} pairs) |")
    print(f"| different-people pairs: distance min / max | {min(other):.3f} / {max(other):.3f} ({len(other)} pairs) |")
    print(f"| threshold | {THRESHOLD} |")
    print(f"| false non-matches at the threshold | {summary['false_non_match']} of {len(same)} |")
    print(f"| false matches at the threshold | {summary['false_match']} of {len(other)} |")
    print(f"| models load (first use, wall) | {load * 1000:.0f} ms |")
    print(f"| CPU per verification (8 frames: quality + liveness + match) | {verify:.0f} ms |")
    print(f"| CPU per frame within it | {verify / 8:.0f} ms |")
    print(f"| CPU per reference template at import | {template:.0f} ms |")
    print(f"| templates per second, {photos} augmented photos, pool of 2 (wall) | {per_second:.1f} |")
    print(f"| CPU per template in that run | {per_photo_cpu:.0f} ms |")
    print(f"| photos without a usable face in that run | {failed} |")
    print(f"| peak RSS added by the models and the run | {added:.0f} MB |")


if __name__ == "__main__":
    main()
