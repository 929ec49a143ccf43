"""Realistic synthetic districts for tests and benchmarks.

Real districts are not available in the repository, so tests and the
benchmark generate them: communities are blocks between streets (a jittered
street lattice, blocks slightly rotated, some L-shaped, some with a park
hole); buildings stand in rows inside the block; households per building are
lognormal (median ~52, 10..400) with a few high-rise towers; entrances hold
15-30 households each.  Deterministic for a given seed.
"""

from __future__ import annotations

import math

import numpy as np

from .model import Building

#: roughly the centre of Chaoyang, Beijing
ORIGIN = (116.45, 39.92)
M_PER_DEG_LAT = 111_195.0


def _households(rng: np.random.Generator, n: int, sigma: float, towers: float) -> np.ndarray:
    h = rng.lognormal(math.log(52.0), sigma, n)
    tower = rng.random(n) < towers
    h[tower] = rng.uniform(180, 400, int(tower.sum()))
    return np.clip(np.rint(h), 10, 400).astype(np.int64)


def generate_district(
    households: int,
    seed: int = 0,
    community_households: tuple[int, int] = (1500, 6000),
    sigma: float = 0.5,
    towers: float = 0.02,
    origin: tuple[float, float] = ORIGIN,
    prefix: str = "C",
) -> list[Building]:
    """Buildings of a district with about ``households`` households in total."""
    rng = np.random.default_rng(seed)
    lon0, lat0 = origin
    m_per_deg_lon = M_PER_DEG_LAT * math.cos(math.radians(lat0))
    out: list[Building] = []
    total = 0
    # communities on a street lattice, filled in a square spiral-ish order
    side = max(1, math.ceil(math.sqrt(households / np.mean(community_households) * 1.2)))
    cells = [(i, j) for i in range(side + 2) for j in range(side + 2)]
    cells.sort(key=lambda c: (max(abs(c[0] - side / 2), abs(c[1] - side / 2)), c))
    block_pitch = 700.0
    ci = 0
    while total < households:
        if ci >= len(cells):
            cells.extend((i, side + 2 + ci // (side + 2)) for i in range(side + 2))
        bi, bj = cells[ci]
        ci += 1
        want = int(rng.uniform(*community_households))
        if households - total - want < community_households[0]:
            want = households - total  # no tiny community at the end
        n_est = max(1, int(want / 60))
        hh = _households(rng, n_est * 3, sigma, towers)
        csum = np.cumsum(hh)
        n = int(np.searchsorted(csum, want) + 1)
        n = min(n, hh.size)
        hh = hh[:n]
        # block geometry: rows of buildings with E-W spacing sx, N-S spacing sy
        sx = rng.uniform(28, 45)
        sy = rng.uniform(35, 60)
        shape = rng.random()
        cols = max(1, int(math.sqrt(n * sy / sx) + 0.5))
        rows = math.ceil(n / cols) + (1 if shape < 0.3 else 0)
        slots = [(r, c) for r in range(rows) for c in range(cols)]
        if shape < 0.15 and rows > 3 and cols > 3:  # L-shaped
            slots = [(r, c) for r, c in slots if not (r >= rows // 2 and c >= cols // 2)]
        elif shape < 0.3 and rows > 4 and cols > 4:  # park in the middle
            slots = [
                (r, c) for r, c in slots if not (rows // 3 <= r < 2 * rows // 3 and cols // 3 <= c < 2 * cols // 3)
            ]
        while len(slots) < n:
            rows += 1
            slots += [(rows - 1, c) for c in range(cols)]
        slots = slots[:n]
        ang = rng.normal(0, 0.12)
        cx = bi * block_pitch + rng.normal(0, 40)
        cy = bj * block_pitch + rng.normal(0, 40)
        comm = f"{prefix}{ci:04d}"
        for (r, c), h in zip(slots, hh, strict=False):
            x = (c - (cols - 1) / 2) * sx + rng.normal(0, 3)
            y = (r - (rows - 1) / 2) * sy + rng.normal(0, 3)
            if h >= 180:  # towers stand a bit apart
                x += rng.normal(0, 6)
            xr = cx + x * math.cos(ang) - y * math.sin(ang)
            yr = cy + x * math.sin(ang) + y * math.cos(ang)
            ent = max(1, round(h / rng.uniform(15, 30)))
            out.append(
                Building(
                    id=f"B{len(out) + 1:06d}",
                    lon=round(lon0 + xr / m_per_deg_lon, 7),
                    lat=round(lat0 + yr / M_PER_DEG_LAT, 7),
                    households=int(h),
                    community=comm,
                    entrances=ent,
                )
            )
            total += int(h)
    return out


def perturb(buildings: list[Building], share: float = 0.05, seed: int = 1) -> list[Building]:
    """Every building's households changed by a uniform factor in +/-``share``."""
    rng = np.random.default_rng(seed)
    out = []
    for b in buildings:
        f = 1.0 + rng.uniform(-share, share)
        h = max(0, round(b.households * f))
        out.append(Building(b.id, b.lon, b.lat, h, b.community, b.entrances))
    return out
