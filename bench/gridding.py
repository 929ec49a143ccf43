"""Benchmark of the grid-division engine (issue 3) against peer methods.

Why a separate process per (method, size): peak memory (ru_maxrss) is only
meaningful per process, and a peer that hangs can be killed at the timeout
without losing the other rows.  Every process regenerates the same synthetic
district from the seed, so all methods see identical data; generation and
scoring are outside the timed section.

Methods (each per community, with the engine's number of grids k):

* ``engine``          -- ``wangge.areas.gridding.divide``.
* ``metis``           -- pymetis k-way, contiguous, vertex weight = households,
  one vertex per building, edges = Delaunay of the community's buildings.
* ``metis_entrances`` -- same on entrances: a building's entrances are
  connected to each other and to the entrances of its Delaunay neighbours;
  a building whose entrances land in several parts is split.
* ``maxp``            -- spopt MaxPHeuristic, floor = target households,
  same Delaunay weights (no upper bound, chooses its own number of regions).
* ``kmeans_constrained`` -- k-means-constrained on *households as points*
  (each household a point at its building), size_min/size_max = the band in
  households: the only way to express a household band with a size-bounded
  k-means; buildings are split wherever the clusters cut them, contiguity
  is not enforced.

Usage::

    python bench/gridding.py --sizes 20000,200000
    python bench/gridding.py --sizes 2000000 --methods engine,metis,engine_rebalance
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wangge.areas.gridding import Building, divide, evaluate, rebalance  # noqa: E402
from wangge.areas.gridding.engine import choose_k  # noqa: E402
from wangge.areas.gridding.graph import build_site_graph  # noqa: E402
from wangge.areas.gridding.model import Allocation, band  # noqa: E402
from wangge.areas.gridding.synthetic import generate_district, perturb  # noqa: E402

TARGET = 300
TOLERANCE = 0.10
SIGMA = 0.6
ALL_METHODS = ["engine", "metis", "metis_entrances", "maxp", "kmeans_constrained", "engine_rebalance"]
DEFAULT_PEERS_UP_TO = {"maxp": 20_000, "kmeans_constrained": 200_000, "metis_entrances": 2_000_000}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _by_community(buildings: list[Building]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for i, b in enumerate(buildings):
        out[b.community].append(i)
    return dict(sorted(out.items()))


def _building_adjacency(bs: list[Building]) -> list[list[int]]:
    """Delaunay adjacency of buildings (co-located buildings adjacent)."""
    import numpy as np

    g = build_site_graph(np.array([b.lon for b in bs]), np.array([b.lat for b in bs]), robust=False)
    at: dict[int, list[int]] = defaultdict(list)
    for i, s in enumerate(g.site_of.tolist()):
        at[s].append(i)
    nb = g.neighbours()
    adj: list[list[int]] = []
    for i, s in enumerate(g.site_of.tolist()):
        row = [j for j in at[s] if j != i]
        for t in nb[s]:
            row.extend(at[t])
        adj.append(row)
    return adj


def _k(bs: list[Building]) -> int:
    lo, hi = band(TARGET, TOLERANCE)
    return choose_k(sum(b.households for b in bs), TARGET, lo, hi)


def _metis(buildings: list[Building], entrances: bool) -> dict[str, Allocation]:
    import pymetis

    from wangge.areas.gridding.model import entrance_households

    out: dict[str, Allocation] = {}
    for comm, idx in _by_community(buildings).items():
        bs = [buildings[i] for i in idx]
        k = _k(bs)
        if k == 1 or len(bs) == 1:
            for b in bs:
                out[b.id] = [(f"{comm}-M1", b.households)]
            continue
        adj = _building_adjacency(bs)
        if not entrances:
            nodes_of = [[i] for i in range(len(bs))]
            weights = [b.households for b in bs]
            graph = adj
        else:
            nodes_of, weights, owner = [], [], []
            for i, b in enumerate(bs):
                start = len(weights)
                hh = entrance_households(b.households, b.entrances)
                weights.extend(hh)
                owner.extend([i] * len(hh))
                nodes_of.append(list(range(start, start + len(hh))))
            graph = []
            for v, i in enumerate(owner):
                row = [u for u in nodes_of[i] if u != v]
                for j in adj[i]:
                    row.extend(nodes_of[j])
                graph.append(row)
        try:
            _, parts = pymetis.part_graph(k, adjacency=graph, vweights=weights, contiguous=True)
        except Exception:  # METIS refuses contiguity on some graphs
            _, parts = pymetis.part_graph(k, adjacency=graph, vweights=weights)
        for i, b in enumerate(bs):
            acc: dict[str, int] = {}
            for v in nodes_of[i]:
                gid = f"{comm}-M{parts[v] + 1}"
                acc[gid] = acc.get(gid, 0) + weights[v]
            out[b.id] = list(acc.items()) or [(f"{comm}-M{parts[nodes_of[i][0]] + 1}", 0)]
    return out


def _maxp(buildings: list[Building]) -> dict[str, Allocation]:
    import geopandas as gpd
    import libpysal
    from spopt.region import MaxPHeuristic

    out: dict[str, Allocation] = {}
    for comm, idx in _by_community(buildings).items():
        bs = [buildings[i] for i in idx]
        if sum(b.households for b in bs) < 2 * TARGET or len(bs) < 3:
            for b in bs:
                out[b.id] = [(f"{comm}-P1", b.households)]
            continue
        adj = _building_adjacency(bs)
        w = libpysal.weights.W({i: sorted(set(a)) for i, a in enumerate(adj)}, silence_warnings=True)
        gdf = gpd.GeoDataFrame(
            {"households": [b.households for b in bs], "x": [b.lon for b in bs]},
            geometry=gpd.points_from_xy([b.lon for b in bs], [b.lat for b in bs]),
        )
        model = MaxPHeuristic(
            gdf,
            w,
            ["x"],
            "households",
            TARGET,
            top_n=2,
            max_iterations_construction=2,
            max_iterations_sa=1,
        )
        model.solve()
        for i, b in enumerate(bs):
            out[b.id] = [(f"{comm}-P{int(model.labels_[i])}", b.households)]
    return out


def _kmeans_constrained(buildings: list[Building]) -> dict[str, Allocation]:
    import numpy as np
    from k_means_constrained import KMeansConstrained

    from wangge.areas.gridding.graph import project

    lo, hi = band(TARGET, TOLERANCE)
    out: dict[str, Allocation] = {}
    for comm, idx in _by_community(buildings).items():
        bs = [buildings[i] for i in idx]
        k = _k(bs)
        total = sum(b.households for b in bs)
        if k == 1:
            for b in bs:
                out[b.id] = [(f"{comm}-K1", b.households)]
            continue
        xy = project(np.array([b.lon for b in bs]), np.array([b.lat for b in bs]))
        reps = np.array([b.households for b in bs])
        pts = np.repeat(xy, reps, axis=0)
        owner = np.repeat(np.arange(len(bs)), reps)
        smin = min(lo, total // k)
        smax = max(hi, math.ceil(total / k))
        km = KMeansConstrained(n_clusters=k, size_min=smin, size_max=smax, n_init=2, random_state=0)
        labels = km.fit_predict(pts)
        counts: dict[tuple[int, int], int] = defaultdict(int)
        for o, lab in zip(owner.tolist(), labels.tolist(), strict=True):
            counts[(o, lab)] += 1
        per: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for (o, lab), n in sorted(counts.items()):
            per[o].append((f"{comm}-K{lab + 1}", n))
        for i, b in enumerate(bs):
            out[b.id] = per.get(i) or [(f"{comm}-K1", 0)]
    return out


def _relabelled_moved(before: dict[str, Allocation], after: dict[str, Allocation], buildings: list[Building]) -> int:
    """Households moved between two divisions after matching grid ids optimally (per community)."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    rename: dict[str, str] = {}
    for idx in _by_community(buildings).values():
        ids = [buildings[i].id for i in idx]
        old_ids = sorted({g for b in ids for g, _ in before[b]})
        new_ids = sorted({g for b in ids for g, _ in after[b]})
        oi = {g: i for i, g in enumerate(old_ids)}
        ni = {g: i for i, g in enumerate(new_ids)}
        m = np.zeros((len(new_ids), len(old_ids)))
        for b in ids:
            for g, n in after[b]:
                for og, on in before[b]:
                    m[ni[g], oi[og]] += min(n, on)
        r, c = linear_sum_assignment(m, maximize=True)
        rename.update({new_ids[a]: old_ids[b] for a, b in zip(r, c, strict=True)})
    moved = 0
    for bid, parts in after.items():
        prev: dict[str, int] = defaultdict(int)
        for g, n in before.get(bid, []):
            prev[g] += n
        for g, n in parts:
            moved += max(0, n - prev.get(rename.get(g, g), 0))
    return moved


def worker(method: str, size: int, seed: int) -> dict[str, Any]:
    buildings = generate_district(size, seed=seed, sigma=SIGMA)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    extra: dict[str, Any] = {}
    scored = buildings
    if method == "engine":
        assignment = divide(buildings, TARGET, TOLERANCE).assignment
    elif method == "metis":
        assignment = _metis(buildings, entrances=False)
    elif method == "metis_entrances":
        assignment = _metis(buildings, entrances=True)
    elif method == "maxp":
        assignment = _maxp(buildings)
    elif method == "kmeans_constrained":
        assignment = _kmeans_constrained(buildings)
    elif method == "engine_rebalance":
        first = divide(buildings, TARGET, TOLERANCE).assignment
        changed = perturb(buildings, 0.05, seed=seed + 100)
        before = evaluate(changed, _rescaled(first, changed), TARGET, TOLERANCE)
        t0 = time.perf_counter()
        rss0 = _rss_mb()
        result = rebalance(changed, first, TARGET, TOLERANCE)
        assignment = result.assignment
        seconds = time.perf_counter() - t0
        peak = _rss_mb() - rss0
        fresh = divide(changed, TARGET, TOLERANCE).assignment
        total = sum(b.households for b in changed)
        extra = {
            "moved_households": result.moved_households,
            "moved_share": round(result.moved_households / total, 4),
            "within_before_rebalance": round(before["within_tolerance"], 4),
            "moved_share_if_divided_afresh": round(_relabelled_moved(first, fresh, changed) / total, 4),
        }
        scored = changed
        return _score(method, size, scored, assignment, seconds, peak, extra)
    else:
        raise SystemExit(f"unknown method {method}")
    seconds = time.perf_counter() - t0
    peak = _rss_mb() - rss0
    return _score(method, size, scored, assignment, seconds, peak, extra)


def _rescaled(first: dict[str, Allocation], changed: list[Building]) -> dict[str, Allocation]:
    """The old division under the new counts (what the ground looks like before rebalancing)."""
    out: dict[str, Allocation] = {}
    for b in changed:
        parts = first[b.id]
        old = sum(n for _, n in parts) or 1
        acc = [(g, b.households * n // old) for g, n in parts]
        rest = b.households - sum(n for _, n in acc)
        acc[0] = (acc[0][0], acc[0][1] + rest)
        out[b.id] = acc
    return out


def _score(
    method: str,
    size: int,
    buildings: list[Building],
    assignment: dict[str, Allocation],
    seconds: float,
    peak_mb: float,
    extra: dict[str, Any],
) -> dict[str, Any]:
    fig = evaluate(buildings, assignment, TARGET, TOLERANCE, polygons=True)
    return {
        "method": method,
        "size": size,
        "seconds": round(seconds, 3),
        "peak_mb": round(max(0.0, peak_mb), 1),
        "maxrss_mb": round(_rss_mb(), 1),
        **fig,
        "split_share": round(fig["split_buildings"] / max(1, fig["buildings"]), 4),
        **extra,
    }


def run_one(method: str, size: int, seed: int, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", method, "--size", str(size), "--seed", str(seed)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"method": method, "size": size, "error": f"timeout > {timeout:.0f} s"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return {"method": method, "size": size, "error": tail[:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cpu() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| households | method | seconds | peak MB | grids | within ±10% | contiguous | split buildings "
        "| mean Polsby-Popper | min–max | time vs engine | within vs engine |"
    )
    lines = [head, "|" + "---|" * 12]
    engine = {r["size"]: r for r in rows if r.get("method") == "engine" and "error" not in r}
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['size']:,} | {r['method']} | {r['error']} |" + " |" * 9)
            continue
        e = engine.get(r["size"])
        tr = f"{r['seconds'] / e['seconds']:.1f}×" if e and e["seconds"] > 0 else "–"
        wr = f"{r['within_tolerance'] / e['within_tolerance']:.2f}×" if e and e["within_tolerance"] else "–"
        extra = ""
        if r["method"] == "engine_rebalance":
            extra = (
                f" (moved {r['moved_share']:.1%}; before rebalance {r['within_before_rebalance']:.1%} within;"
                f" dividing afresh would move {r['moved_share_if_divided_afresh']:.1%})"
            )
        lines.append(
            f"| {r['size']:,} | {r['method']}{extra} | {r['seconds']:.2f} | {r['peak_mb']:.0f} | {r['grids']} "
            f"| {r['within_tolerance']:.1%} | {r['contiguous']:.1%} "
            f"| {r['split_buildings']} ({r['split_share']:.1%}) | {r['mean_polsby_popper']} "
            f"| {r['min']}–{r['max']} | {tr} | {wr} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="20000,200000", help="comma-separated household totals")
    p.add_argument("--methods", default=",".join(ALL_METHODS))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per peer run")
    p.add_argument("--all-peers", action="store_true", help="run slow peers at every size")
    p.add_argument("--json", help="also write the rows to this file")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(a.worker, a.size, a.seed)))
        return 0
    sizes = [int(s) for s in a.sizes.split(",") if s]
    methods = [m for m in a.methods.split(",") if m]
    rows = []
    for size in sizes:
        for m in methods:
            if not a.all_peers and size > DEFAULT_PEERS_UP_TO.get(m, math.inf):
                continue
            r = run_one(m, size, a.seed, a.timeout)
            rows.append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)
    print(f"machine: {os.cpu_count()} cores, {_cpu()}; python {platform.python_version()}")
    print(f"command: python bench/gridding.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(table(rows))
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
