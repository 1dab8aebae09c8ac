"""The exercise file an instructor shares: one zip holding the study (DICOM), the hidden
reference plan and the metadata, with a SHA-256 manifest.

Layout::

    manifest.json   {"format": "vaplanner-exercise", "format_version": 1,
                     "members": {name: sha256, ...}, "content_sha256": sha256 of the members}
    exercise.json   metadata (:meth:`Exercise.metadata_json`)
    reference.json  the reference plan (a plan file, LPS mm), bound to the study's series
    study/CT*.dcm   the CT

Loading refuses, naming the file and the member: a file that is not a readable zip, a missing
or unreadable manifest, a member missing, added or whose hash differs (damage or tampering), a
content hash that does not match, metadata or a reference plan that do not validate, and a
reference plan bound to another series than the study's. The hashes detect damage and naive
edits; they are not a signature (anyone can rebuild a consistent file).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.errors import InputError, PlanFormatError
from planner.plan.file import check_binding, plan_from_dict, plan_to_dict
from planner.training.exercise import Exercise
from planner.volume import CTVolume

FORMAT_NAME = "vaplanner-exercise"
FORMAT_VERSION = 1
SUFFIX = ".vaex"
_FIXED = ("exercise.json", "reference.json")
_MAX_MEMBERS = 5000


class ExerciseFileError(InputError):
    default_message = "The exercise file is damaged or was changed; ask for a new copy."


@dataclass(frozen=True, eq=False)
class LoadedExercise:
    """A validated exercise and the folder its study was unpacked into."""

    exercise: Exercise
    path: Path
    study_dir: Path
    content_sha256: str

    def open_study(self) -> CTVolume:
        """Load the study with the planner's loader and check the reference is bound to it."""
        from planner.loading import load_path

        volume = load_path(str(self.study_dir)).volume
        try:
            check_binding(self.exercise.reference, volume.series_uid,
                          volume.geometry_fingerprint(), self.path)
        except InputError as exc:
            raise ExerciseFileError(f"reference plan does not match the study ({exc})",
                                    path=self.path) from exc
        return volume


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_hash(members: dict[str, str]) -> str:
    return _sha(json.dumps(members, sort_keys=True).encode())


def write_exercise(path: str | Path, exercise: Exercise, volume: CTVolume) -> Path:
    """Write the exercise file (atomically); the volume is exported as a DICOM series."""
    from planner.dicom_export import write_dicom_series

    p = Path(path)
    if volume.series_uid != exercise.reference.series.series_uid:
        raise InputError("the reference plan was not made on this volume", path=p)
    with tempfile.TemporaryDirectory() as tmp:
        study = Path(tmp) / "study"
        write_dicom_series(volume, study, study_description=exercise.title[:60])
        exercise = _bound_to(exercise, study)
        blobs: dict[str, bytes] = {
            "exercise.json": json.dumps(exercise.metadata_json(), indent=2).encode(),
            "reference.json": json.dumps(plan_to_dict(exercise.reference), indent=2).encode(),
        }
        for f in sorted(study.iterdir()):
            blobs[f"study/{f.name}"] = f.read_bytes()
        members = {name: _sha(data) for name, data in blobs.items()}
        manifest = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                    "members": members, "content_sha256": content_hash(members)}
        fd, tmp_zip = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
        try:
            with open(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED,
                                                       compresslevel=1) as zf:
                zf.writestr("manifest.json", json.dumps(manifest, indent=2))
                for name, data in blobs.items():
                    zf.writestr(name, data)
            os.chmod(tmp_zip, 0o644)  # a file to share (mkstemp makes it private)
            Path(tmp_zip).replace(p)
        except BaseException:
            Path(tmp_zip).unlink(missing_ok=True)
            raise
    return p


def _bound_to(exercise: Exercise, study: Path) -> Exercise:
    """The exercise with its reference bound to the study as the planner loads it back (DICOM
    stores positions and spacings as decimal strings, so the geometry fingerprint can differ
    from the in-memory volume's by rounding)."""
    from dataclasses import replace

    from planner.loading import load_path
    from planner.plan.model import SeriesBinding

    v = load_path(str(study)).volume
    binding = SeriesBinding(v.series_uid, v.geometry_fingerprint())
    return replace(exercise, reference=replace(exercise.reference, series=binding))


def _read_manifest(zf: zipfile.ZipFile, p: Path) -> dict[str, str]:
    try:
        manifest = json.loads(zf.read("manifest.json"))
    except KeyError:
        raise ExerciseFileError("not an exercise file (no manifest.json)", path=p) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExerciseFileError(f"manifest.json is unreadable ({exc})", path=p) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ExerciseFileError("not an exercise file (wrong format name)", path=p)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ExerciseFileError(
            f"exercise format version {manifest.get('format_version')!r} is not supported "
            f"(this planner reads {FORMAT_VERSION})", path=p)
    members = manifest.get("members")
    if not isinstance(members, dict) or not members or len(members) > _MAX_MEMBERS:
        raise ExerciseFileError("manifest.json lists no members", path=p)
    for name, digest in members.items():
        safe = name in _FIXED or (name.startswith("study/") and "/" not in name[6:]
                                  and name[6:] not in ("", ".", ".."))
        if not safe or not isinstance(digest, str) or len(digest) != 64:
            raise ExerciseFileError(f"manifest.json lists an invalid member {name!r}", path=p)
    if manifest.get("content_sha256") != content_hash(members):
        raise ExerciseFileError("content hash does not match the manifest (changed file)",
                                path=p)
    for name in _FIXED:
        if name not in members:
            raise ExerciseFileError(f"{name} is missing from the manifest", path=p)
    return members


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "VAPlanner" / "exercises"


def load_exercise(path: str | Path, extract_to: str | Path | None = None) -> LoadedExercise:
    """Validate an exercise file and unpack its study (module notes list what is refused).

    ``extract_to``: folder for the study (default: a per-content cache folder).
    """
    p = Path(path)
    if p.is_dir():  # an exercise folder written by the ``exercise`` command
        found = sorted(p.glob(f"*{SUFFIX}"))
        if len(found) != 1:
            raise ExerciseFileError(f"the folder must hold exactly one {SUFFIX} file", path=p)
        p = found[0]
    if not p.is_file():
        raise ExerciseFileError("the exercise file does not exist", path=p)
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExerciseFileError(f"not a readable exercise file ({exc})", path=p) from exc
    with zf:
        members = _read_manifest(zf, p)
        names = {i.filename for i in zf.infolist()} - {"manifest.json"}
        if names != set(members):
            extra = sorted(names - set(members))[:3]
            missing = sorted(set(members) - names)[:3]
            raise ExerciseFileError(f"members differ from the manifest (added {extra}, "
                                    f"missing {missing})", path=p)
        blobs: dict[str, bytes] = {}
        for name in sorted(members):
            try:
                data = zf.read(name)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:  # CRC error, truncation
                raise ExerciseFileError(f"member {name} is damaged ({exc})", path=p) from exc
            if _sha(data) != members[name]:
                raise ExerciseFileError(f"member {name} does not match its hash (damaged or "
                                        "changed)", path=p)
            blobs[name] = data
    exercise = _parse(blobs, p)
    digest = content_hash(members)
    out = Path(extract_to) if extract_to is not None else _cache_root() / digest[:24]
    study = out / "study"
    if not (out / ".complete").is_file():
        if study.exists():
            shutil.rmtree(study)
        study.mkdir(parents=True)
        for name, data in blobs.items():
            if name.startswith("study/"):
                (study / name[6:]).write_bytes(data)
        (out / ".complete").write_text(digest)
    return LoadedExercise(exercise, p, study, digest)


def _parse(blobs: dict[str, bytes], p: Path) -> Exercise:
    try:
        meta: Any = json.loads(blobs["exercise.json"])
        ref_raw: Any = json.loads(blobs["reference.json"])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExerciseFileError(f"metadata is not valid JSON ({exc})", path=p) from exc
    try:
        reference = plan_from_dict(ref_raw)
    except PlanFormatError as exc:
        raise ExerciseFileError(f"reference.json: {exc}", path=p) from exc
    try:
        return Exercise.from_json(meta, reference)
    except (TypeError, ValueError) as exc:
        raise ExerciseFileError(f"exercise.json: {exc}", path=p) from exc
