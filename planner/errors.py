"""Errors raised by the planner.

Recoverable problems are data (warnings on a result); unrecoverable ones raise a
:class:`PlannerError` subclass whose message names the file or series, the numbers involved
and what the user can do next. The command line turns them into exit code 2 and one line on
stderr; the UI turns them into a dialog.
"""

from __future__ import annotations

from pathlib import Path


class PlannerError(Exception):
    """Base class of every error the planner raises on purpose."""

    default_message = "The planner could not complete the request."

    def __init__(self, message: str | None = None, *, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        text = message or self.default_message
        if self.path is not None and str(self.path) not in text:
            text = f"{self.path}: {text}"
        super().__init__(text)


class InputError(PlannerError):
    """The input (file, folder, argument) cannot be used as given."""

    default_message = "The input cannot be used."


class NotFoundError(InputError):
    default_message = "The file or folder does not exist; check the path."


class EmptyInputError(InputError):
    default_message = "The folder holds no files; choose the folder that contains the study."


class NoImageSeriesError(InputError):
    default_message = (
        "No image series was found; the folder may hold only reports or non-DICOM files. "
        "Choose the folder exported from the PACS or CD that contains the CT images."
    )


class SeriesNotFoundError(InputError):
    default_message = "The requested series is not in this study; run `info` to list the series."


class CorruptFileError(InputError):
    default_message = "The file is damaged or truncated; export the series again."


class ImageTooLargeError(InputError):
    default_message = "The image is larger than this application accepts."


class UnsupportedDataError(InputError):
    default_message = "This kind of image cannot be used for planning."


class GeometryError(InputError):
    default_message = (
        "The slice geometry is inconsistent and cannot be resampled accurately; "
        "reconstruct the series on the scanner as contiguous axial slices."
    )


class PlanMismatchError(InputError):
    default_message = "The plan was made on another series and cannot be applied to this one."


class PlanFormatError(InputError):
    default_message = "The plan file is not valid."


class AnalysisError(PlannerError):
    """An analysis (segmentation, measurement, simulation) gave no trustworthy result."""

    default_message = "The analysis could not produce a trustworthy result."


class Cancelled(PlannerError):
    """The user cancelled a long operation."""

    default_message = "Cancelled by the user."
