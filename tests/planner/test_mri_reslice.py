"""Planes of the MRI views: screen convention and pixel <-> LPS mapping."""

from __future__ import annotations

import numpy as np

from planner.mri.reslice import Plane, sample_plane, to_grey
from planner.mri.rigid import RigidTransform
from planner.volume import CTVolume


def test_plane_round_trip_and_convention() -> None:
    sag = Plane("sagittal", np.array([5.0, -3.0, 10.0]), 101, 0.5)
    assert sag.to_pixel(sag.centre_lps) == (50.0, 50.0, 0.0)
    c, r, d = sag.to_pixel([5.0, 2.0, 10.0])  # 5 mm posterior: to the right
    assert (c, r, d) == (60.0, 50.0, 0.0)
    c, r, _ = sag.to_pixel([5.0, -3.0, 15.0])  # 5 mm superior: up
    assert r == 40.0
    assert np.allclose(sag.to_lps(*sag.to_pixel([1.0, 2.0, 3.0])[:2]), [5.0, 2.0, 3.0])
    ax = Plane("axial", np.zeros(3), 11, 1.0)
    assert ax.to_pixel([3.0, 0.0, 0.0])[0] == 8.0  # patient left on the right (radiological)


def test_sample_plane_through_a_transform() -> None:
    a = np.zeros((20, 20, 20), dtype=np.int16)
    a[10, 10, 12] = 1000  # voxel (i=12, j=10, k=10) at LPS (12, 10, 10)
    vol = CTVolume.from_array(a, np.eye(4), "1.2.3")
    plane = Plane("axial", np.array([10.0, 10.0, 10.0]), 5, 1.0)
    assert sample_plane(vol, plane)[2, 4] == 1000
    shift = RigidTransform(np.eye(3), [2.0, 0.0, 0.0])  # plane frame -> volume frame
    assert sample_plane(vol, plane, shift)[2, 2] == 1000
    g = to_grey(np.array([np.nan, 0.0, 50.0, 100.0]), 0.0, 100.0)
    assert g.tolist() == [0, 0, 127, 255]
