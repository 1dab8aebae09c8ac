"""Hand a CTVolume to VTK without copying and without letting VTK see its direction.

``vtkImageReslice`` and the FixedPoint ray-cast mapper ignore ``vtkImageData``'s direction
matrix (DESIGN.md §4), so the image keeps origin 0 and an identity direction with the voxel
spacing, and the placement in patient space goes on the prop as a user matrix. VTK world
coordinates are then patient LPS millimetres.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix4x4


def image_from_array(hu: NDArray[np.int16], spacing_ijk: NDArray[np.float64]) -> vtkImageData:
    """Wrap ``hu[k, j, i]`` (C-contiguous) as vtkImageData sharing its memory.

    The returned image keeps a reference to the array, so the memory outlives it.
    """
    arr = np.ascontiguousarray(hu)
    nk, nj, ni = arr.shape
    img = vtkImageData()
    img.SetDimensions(ni, nj, nk)
    img.SetSpacing(*(float(s) for s in spacing_ijk))
    img.SetOrigin(0.0, 0.0, 0.0)
    scalars = numpy_to_vtk(arr.reshape(-1), deep=False)
    scalars.SetName("HU")
    img.GetPointData().SetScalars(scalars)
    img._numpy_keepalive = arr  # type: ignore[attr-defined]
    return img


def image_to_lps_matrix(ijk_to_lps: NDArray[np.float64]) -> NDArray[np.float64]:
    """4x4 from the image's own frame (i*si, j*sj, k*sk) to LPS mm."""
    m = np.asarray(ijk_to_lps, dtype=np.float64)
    spacing = np.linalg.norm(m[:3, :3], axis=0)
    out = m.copy()
    out[:3, :3] = m[:3, :3] / spacing
    return out


def to_vtk_matrix(m: NDArray[np.float64]) -> vtkMatrix4x4:
    vm = vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            vm.SetElement(r, c, float(m[r, c]))
    return vm
