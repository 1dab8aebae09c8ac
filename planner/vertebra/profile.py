"""Bodies and discs along the tracked column from a 1D core profile (ANATOMY.md §2 step).

Method
------
1. The tracked column (:mod:`planner.vertebra.column`, one point per 2 mm slice) is resampled
   to 1 mm steps along its arc length (Yao et al. 2006: profiles along the curved column).
2. At each step the mean HU of a central core (disc of radius :data:`CORE_RADIUS_MM` normal to
   the curve, about half a thoracic body's width: bridging osteophytes at the rim stay out) is
   taken, and detrended by a 41 mm running median.
3. Polarity: on soft-kernel or thin-slice CT the disc is the dark band; on a sharp kernel at
   3 mm slices the endplate–disc–endplate sandwich is partial-volumed into a band brighter than
   the cancellous centre of a low-density body (measured on ../shared/data/cptac_chest_ct:
   core 85-115 HU mid-body, 170-300 HU at the discs). Either way the disc band is the
   *shorter* of the two alternating phases (bodies 15-30 mm, discs 3-12 mm): the sign whose
   above-zero share is smaller is taken as the disc sign.
4. A semi-Markov Viterbi over alternating body/disc segments maximises the summed signed
   signal with duration priors (body :data:`BODY_MM`, disc :data:`DISC_MM`), so no body may
   span a disc and no disc may be missed for being shallow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.grid import FloatArray
from planner.volume import CTVolume

CORE_RADIUS_MM = 7.0
STEP_MM = 1.0
#: Duration priors, mm (**[engineering limits]**: thoracic bodies 15-25 mm high, lumbar up to
#: 30 mm (Panjabi et al., Spine 1991/1992); discs 3-12 mm at 1-5 mm slices).
BODY_MM = (12, 34)
DISC_MM = (3, 13)
#: Per-mm penalty for a segment outside its typical middle range (soft prior).
BODY_TYPICAL_MM = (16.0, 28.0)
DISC_TYPICAL_MM = (4.0, 10.0)
DURATION_PENALTY = 0.15


@dataclass(frozen=True)
class ColumnProfile:
    """The resampled centreline (LPS mm, 1 mm steps), unit tangents and the signed signal."""

    points_lps: FloatArray
    tangents: FloatArray
    signal: FloatArray
    disc_bright: bool


def resample_curve(points_lps: FloatArray, step_mm: float = STEP_MM) -> tuple[FloatArray,
                                                                                  FloatArray]:
    """Points every ``step_mm`` along the polyline ``points_lps`` (N, 3) and unit tangents."""
    seg = np.linalg.norm(np.diff(points_lps, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.arange(0.0, s[-1], step_mm)
    pts = np.column_stack([np.interp(t, s, points_lps[:, c]) for c in range(3)])
    tan = np.gradient(pts, axis=0)
    from scipy import ndimage as ndi

    tan = ndi.gaussian_filter1d(tan, 5.0, axis=0, mode="nearest")
    tan /= np.maximum(np.linalg.norm(tan, axis=1, keepdims=True), 1e-9)
    return pts, tan


def core_means(volume: CTVolume, pts: FloatArray, tan: FloatArray) -> FloatArray:
    """Mean HU (clipped to -200..1200) over a disc of :data:`CORE_RADIUS_MM` normal to the
    curve at every point."""
    g = np.arange(-CORE_RADIUS_MM, CORE_RADIUS_MM + 0.1, 1.0)
    u, v = np.meshgrid(g, g, indexing="ij")
    keep = u ** 2 + v ** 2 <= CORE_RADIUS_MM ** 2
    u, v = u[keep], v[keep]
    ref = np.where(np.abs(tan[:, 1:2]) < 0.9, np.array([[0.0, 1.0, 0.0]]),
                   np.array([[1.0, 0.0, 0.0]]))
    a = np.cross(tan, ref)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b = np.cross(tan, a)
    samples = (pts[:, None, :] + u[None, :, None] * a[:, None, :]
               + v[None, :, None] * b[:, None, :])
    hu = volume.sample_lps(samples.reshape(-1, 3), fill=np.nan).reshape(len(pts), -1)
    return np.asarray(np.nanmean(np.clip(hu, -200.0, 1200.0), axis=1), float)


def column_profile(volume: CTVolume, points_lps: FloatArray) -> ColumnProfile:
    """The signed, detrended core profile along the column (disc phase positive)."""
    from scipy import ndimage as ndi

    pts, tan = resample_curve(points_lps)
    raw = core_means(volume, pts, tan)
    raw = np.where(np.isfinite(raw), raw, np.nanmedian(raw))
    raw = ndi.gaussian_filter1d(raw, 1.0, mode="nearest")
    det = raw - ndi.median_filter(raw, size=41, mode="nearest")
    scale = float(np.median(np.abs(det))) * 1.4826 + 1e-6
    sig = np.clip(det / scale, -3.0, 3.0)
    bright = float(np.mean(sig > 0)) < 0.5  # the shorter phase is the disc
    return ColumnProfile(pts, tan, sig if bright else -sig, bright)


def _duration_cost(n: int, typical: tuple[float, float]) -> float:
    lo, hi = typical
    return float(DURATION_PENALTY * (max(0.0, lo - n) + max(0.0, n - hi)) ** 1.5)


def split_bodies(signal: FloatArray) -> list[tuple[int, int]]:
    """Body segments ``[start, stop)`` (profile indices) from a semi-Markov Viterbi.

    Segments alternate body/disc; a body scores ``-sum(signal)``, a disc ``+sum(signal)``,
    each minus its duration penalty. The first and last segments may be cut by the scan's
    ends (any length up to the maximum).
    """
    n = len(signal)
    cs = np.concatenate([[0.0], np.cumsum(signal)])
    neg = -1e18
    # best[state][t]: best score of a segmentation of [0, t) whose last segment has 'state'
    best = np.full((2, n + 1), neg)
    back = np.zeros((2, n + 1), dtype=int)
    limits = (BODY_MM, DISC_MM)
    typical = (BODY_TYPICAL_MM, DISC_TYPICAL_MM)
    sign = (-1.0, 1.0)
    for t in range(1, n + 1):
        for st in (0, 1):
            lo, hi = limits[st]
            for d in range(1, min(hi, t) + 1):
                start = t - d
                edge = start == 0 or t == n
                if d < lo and not edge:
                    continue
                gain = sign[st] * (cs[t] - cs[start])
                gain -= 0.0 if edge else _duration_cost(d, typical[st])
                prev = 0.0 if start == 0 else best[1 - st][start]
                if prev > neg / 2 and prev + gain > best[st][t]:
                    best[st][t], back[st][t] = prev + gain, start
    st = int(np.argmax(best[:, n]))
    t = n
    out: list[tuple[int, int]] = []
    while t > 0:
        start = int(back[st][t])
        if st == 0:
            out.append((start, t))
        t, st = start, 1 - st
    return resplit_long(drop_bright_bodies(out[::-1], signal))


def drop_bright_bodies(segs: list[tuple[int, int]], signal: FloatArray,
                       ) -> list[tuple[int, int]]:
    """Interior body segments whose mean signed signal is not below zero, dropped.

    A body is the darker phase of the signed profile; a segment that is not darker than the
    running median on average was only made a body by the duration priors: on a soft kernel
    or a coarser pixel the endplate-disc-endplate band of a tall disc is blurred into two
    bright rims around a flat middle 12-16 mm long, which then scored as a short body
    (measured on ../shared/data/cptac_chest_ct smoothed by 0.45 mm or at 0.85 mm pixels: the
    T12/L1 disc, mean signal +0.09 / +0.12; real bodies -0.05 to -1.5). The disc segments on
    both sides of a dropped body and the body between them become one disc.
    """
    return [(a, b) for k, (a, b) in enumerate(segs)
            if k == 0 or k == len(segs) - 1 or float(np.mean(signal[a:b])) < 0.0]


#: A body longer than this multiple of its neighbours' median holds a missed disc (ANATOMY.md
#: §2: re-split long bodies at their weakest internal point).
RESPLIT_RATIO = 1.5


def resplit_long(segs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Split every body segment longer than :data:`RESPLIT_RATIO` x the median of its two
    neighbours on each side in two halves (the missed disc is about midway; its own dip is
    too shallow to place it, measured at T1-T2 on ../shared/data/cptac_chest_ct)."""
    out = list(segs)
    k = 1
    while k < len(out) - 1:
        a, b = out[k]
        near = [e - s for s, e in out[max(1, k - 2):k] + out[k + 1:min(len(out) - 1, k + 3)]]
        if near and b - a > RESPLIT_RATIO * float(np.median(near)):
            m = (a + b) // 2
            out[k:k + 1] = [(a, m), (m, b)]
            k += 2
            continue
        k += 1
    return out


@dataclass(frozen=True)
class ProfileBody:
    """One complete body on the profile: centre, cranial axis and the two planes (through a
    point, LPS mm) that bound it, half a thin disc short of the neighbouring disc centres."""

    centre_lps: FloatArray
    superior: FloatArray
    top_lps: FloatArray
    bottom_lps: FloatArray

    @property
    def height_mm(self) -> float:
        return float((self.top_lps - self.bottom_lps) @ self.superior)

    def contains(self, point_lps: FloatArray) -> bool:
        """Whether ``point_lps`` lies between the two bounding planes."""
        p = np.asarray(point_lps, float)
        return bool((p - self.bottom_lps) @ self.superior > 0
                    and (self.top_lps - p) @ self.superior > 0)


#: The bounding planes lie this far inside the disc centre (half a thin thoracic disc, 4 mm;
#: Pooni et al., Spine 1986).
HALF_DISC_MM = 2.0


def profile_bodies(volume: CTVolume, points_lps: FloatArray,
                   ) -> tuple[list[ProfileBody], ColumnProfile]:
    """Complete bodies (cranial first) between two discs found on the core profile."""
    prof = column_profile(volume, points_lps)
    segs = split_bodies(prof.signal)
    n = len(prof.signal)
    up = 1.0 if prof.points_lps[-1, 2] >= prof.points_lps[0, 2] else -1.0
    out = []
    for k, (a, b) in enumerate(segs):
        if a == 0 or b == n or k == 0 or k == len(segs) - 1:
            continue  # cut by the end of the tracked column: not a complete body
        lo = (segs[k - 1][1] + a) / 2.0 + HALF_DISC_MM / STEP_MM  # disc centres, moved in
        hi = (b + segs[k + 1][0]) / 2.0 - HALF_DISC_MM / STEP_MM
        mid = (a + b - 1) // 2
        t = prof.tangents[mid] * up
        ends = [prof.points_lps[int(np.clip(round(x), 0, n - 1))] for x in (lo, hi)]
        top, bottom = (ends[1], ends[0]) if up > 0 else (ends[0], ends[1])
        out.append(ProfileBody(prof.points_lps[mid], t, top, bottom))
    out.sort(key=lambda pb: -float(pb.centre_lps[2]))
    return out, prof


#: Two neighbouring profile bodies whose centres are closer than this share of the pitch of the
#: bodies around them are one body cut by a false disc **[engineering threshold]**: adjacent
#: pitches differ by a few mm (bodies 1-2 mm taller per level, Panjabi et al., Spine
#: 1991/1992; on ../shared/data/cptac_chest_ct 15-26 mm, each within 0.79-1.3 of its
#: neighbours'), while the halves of a split body lie half a pitch apart (0.46-0.58 measured on
#: the same CT at 0.98 mm pixels, L1, and at 0.70 mm with a soft kernel, T6).
MIN_PITCH_SHARE = 0.65


def merge_split_bodies(bodies: list[ProfileBody]) -> list[ProfileBody]:
    """Consecutive bodies (cranial first) far closer than their neighbours' pitch, merged.

    The merged body runs from the upper one's top plane to the lower one's bottom plane; its
    centre is midway between those planes along the column.
    """
    out = list(bodies)
    k = 0
    while k < len(out) - 1:
        gaps = [float(np.linalg.norm(out[j + 1].centre_lps - out[j].centre_lps))
                for j in range(len(out) - 1)]
        others = [gaps[j] for j in range(max(0, k - 3), min(len(gaps), k + 4))
                  if abs(j - k) >= 2]
        if len(others) >= 2 and gaps[k] < MIN_PITCH_SHARE * float(np.median(others)):
            up, down = out[k], out[k + 1]
            sup = up.superior + down.superior
            sup = sup / np.linalg.norm(sup)
            out[k:k + 2] = [ProfileBody(0.5 * (up.top_lps + down.bottom_lps), sup,
                                        up.top_lps, down.bottom_lps)]
            continue
        k += 1
    return out
