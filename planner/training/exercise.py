"""What an exercise is: a case, a level, the side(s), the approach, a difficulty and a hidden
reference plan (patient LPS mm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from planner.plan.model import APPROACHES, Plan

SIDE_CHOICES = ("left", "right", "bipedicular")
DIFFICULTIES = {1: "easy", 2: "moderate", 3: "hard", 4: "very hard"}


@dataclass(frozen=True, slots=True)
class ExerciseCase:
    """How the case was made (all optional apart from the description).

    ``variant`` is a library variant name or ``"instructor"``; ``params`` holds the generator
    settings (fracture grade, bone, pedicle width, rotation, soft tissue), numbers and strings
    only.
    """

    description: str
    variant: str = "instructor"
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.description, str) or not self.description.strip():
            raise ValueError("an exercise case needs a description")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {self.seed!r}")
        for k, v in self.params.items():
            ok = isinstance(v, str | bool | int | float | type(None))
            if not isinstance(k, str) or not ok or (isinstance(v, float) and not math.isfinite(v)):
                raise ValueError(f"case parameter {k!r} must be a plain number or text")

    def to_json(self) -> dict[str, Any]:
        return {"description": self.description, "variant": self.variant, "seed": self.seed,
                "params": dict(self.params)}

    @classmethod
    def from_json(cls, d: Any) -> ExerciseCase:
        if not isinstance(d, dict):
            raise ValueError("'case' must be an object")
        return cls(str(d.get("description", "")), str(d.get("variant", "instructor")),
                   d.get("seed", 0), dict(d.get("params") or {}))


@dataclass(frozen=True, slots=True)
class Exercise:
    """One exercise.

    Parameters
    ----------
    exercise_id
        Short identifier, e.g. ``"T8-narrow-s3"``.
    title
        What the trainee reads.
    case
        How the study was made.
    level
        The target level, e.g. ``"T8"``.
    side
        ``"left"``, ``"right"`` or ``"bipedicular"``.
    approach
        ``"transpedicular"`` or ``"parapedicular"``.
    difficulty
        1 easy … 4 very hard (stated with the reason in ``difficulty_reason``).
    reference
        The hidden reference plan (one trajectory per side asked for).
    needle_id
        Needle of the exercise (catalog id).
    """

    exercise_id: str
    title: str
    case: ExerciseCase
    level: str
    side: str
    approach: str
    difficulty: int
    difficulty_reason: str
    reference: Plan
    needle_id: str = "11G"

    def __post_init__(self) -> None:
        if not self.exercise_id or any(c in self.exercise_id for c in "/\\:"):
            raise ValueError(f"invalid exercise id {self.exercise_id!r}")
        if self.side not in SIDE_CHOICES:
            raise ValueError(f"side must be one of {', '.join(SIDE_CHOICES)}; got {self.side!r}")
        if self.approach not in APPROACHES:
            raise ValueError(f"approach must be one of {', '.join(APPROACHES)}")
        if self.difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be 1-4; got {self.difficulty!r}")
        if self.reference.level != self.level:
            raise ValueError(f"the reference plan is for {self.reference.level}, "
                             f"the exercise for {self.level}")
        have = {t.side for t in self.reference.trajectories}
        if have != set(self.sides):
            raise ValueError(f"the reference plan has needles on {sorted(have) or 'no side'}, "
                             f"the exercise asks for {', '.join(self.sides)}")

    @property
    def sides(self) -> tuple[str, ...]:
        return ("left", "right") if self.side == "bipedicular" else (self.side,)

    @property
    def difficulty_label(self) -> str:
        return DIFFICULTIES[self.difficulty]

    def brief(self) -> str:
        """The task as the trainee reads it (nothing about the reference)."""
        where = "both pedicles" if self.side == "bipedicular" else f"the {self.side} side"
        return (f"{self.level}: place an {self.needle_id} {self.approach} needle on {where}. "
                f"{self.case.description} Difficulty: {self.difficulty_label} "
                f"({self.difficulty_reason}).")

    def metadata_json(self) -> dict[str, Any]:
        """Everything but the reference plan (stored separately)."""
        return {
            "exercise_id": self.exercise_id, "title": self.title, "case": self.case.to_json(),
            "level": self.level, "side": self.side, "approach": self.approach,
            "difficulty": self.difficulty, "difficulty_reason": self.difficulty_reason,
            "needle_id": self.needle_id,
        }

    @classmethod
    def from_json(cls, meta: Any, reference: Plan) -> Exercise:
        if not isinstance(meta, dict):
            raise ValueError("exercise metadata must be an object")
        try:
            return cls(
                exercise_id=str(meta["exercise_id"]), title=str(meta["title"]),
                case=ExerciseCase.from_json(meta["case"]), level=str(meta["level"]),
                side=str(meta["side"]), approach=str(meta["approach"]),
                difficulty=meta["difficulty"],
                difficulty_reason=str(meta.get("difficulty_reason", "")),
                reference=reference, needle_id=str(meta.get("needle_id", "11G")))
        except KeyError as exc:
            raise ValueError(f"exercise metadata lacks {exc.args[0]!r}") from None
