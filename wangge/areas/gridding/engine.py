"""Partitioning one community into balanced, contiguous grids.

Why this shape: grids hold ~300 households, i.e. only ~5 buildings, so the
granularity of whole buildings (10-400 households) is coarse compared with
the +/-10% band.  Graph partitioners (METIS) balance the totals on average but
leave many grids outside the band; balancing on entrances instead splits a
third of the buildings.  This engine therefore works in three stages:

1. **Recursive weighted bisection** (k1 = k // 2, k2 = k - k1) along the
   principal axis at the weighted quantile.  Near the leaves (k <= 4) it tries
   eight cut directions and prefers cuts whose sides can be balanced and are
   connected, so most grids start inside the band and compact.
2. **Contiguity repair**: fragments of a grid that are not connected to its
   largest part join the lightest adjacent grid.
3. **Local search** on out-of-band grids only: boundary moves, swaps and
   two-step chains of whole buildings that keep every grid connected
   (articulation check by BFS inside the small grid).  Only then, as a last
   resort, a boundary building is split at entrance boundaries between two
   adjacent grids (a split building counts as belonging to both grids, and it
   touches both, so contiguity is preserved).

Buildings larger than the band's upper bound are pre-cut into entrance
"pieces" (they cannot be whole in a balanced grid anyway); pieces of one
building that end up in the same grid are merged back in the output.

Rebalancing uses the same search in a mode where the cost also counts
households moved away from their previous grid, and existing splits can be
re-proportioned entrance by entrance (the cheapest possible correction).

The unit of work is a *node*: a building or a piece of one.  Nodes sit on
*sites* (distinct locations, see :mod:`.graph`); two nodes are adjacent when
they share a site or their sites are adjacent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from .graph import SiteGraph

#: cost of a grid outside the band (dominates everything else)
BIG = 1_000_000.0
#: cost per household outside the band
MID = 1_000.0
#: cost of a split building; less than BIG so a split may fix one grid
SPLIT = 400_000.0
#: weight of the squared, band-normalised distance to the community mean
CENTER = 50.0
#: cost per household moved away from its previous grid (rebalance mode)
MOVE = 1.0
#: randomised restarts of the bisection when grids stay out of band
#: (cheap for small communities, where coarse granularity bites hardest)
RESTARTS_SMALL = 8
RESTARTS_LARGE = 1
SMALL_COMMUNITY = 300


def choose_k(total: int, target: int, lo: int, hi: int) -> int:
    """Number of grids for a community of ``total`` households.

    ``round(total / target)`` adjusted so that ``total / k`` lies in the band
    when any neighbouring k allows it; a community below the target is one
    grid.
    """
    if total <= target:
        return 1
    cands = {max(1, math.floor(total / target)), max(1, math.ceil(total / target))}

    def dev(k: int) -> tuple[float, float]:
        x = total / k
        out = 0.0 if lo <= x <= hi else min(abs(x - lo), abs(x - hi))
        return (out, abs(x - target))

    return min(sorted(cands), key=dev)


def _piece_weights(h: int, e: int, counts: Sequence[int]) -> list[int]:
    """Households of consecutive entrance ranges of sizes ``counts``."""
    q, r = divmod(h, max(1, e))
    out = []
    s = 0
    for n in counts:
        out.append(n * q + max(0, min(s + n, r) - s))
        s += n
    return out


class CommunitySolver:
    """Mutable partition state of one community plus the search operators."""

    def __init__(
        self,
        graph: SiteGraph,
        households: Sequence[int],
        entrances: Sequence[int],
        target: int,
        lo: int,
        hi: int,
        k: int,
        rebalance: bool = False,
    ) -> None:
        self.target = target
        self.lo = lo
        self.hi = hi
        self.k = k
        self.rebalance = rebalance
        self.bld_h = [int(x) for x in households]
        self.bld_e = [max(1, int(x)) for x in entrances]
        self.total = sum(self.bld_h)
        self.mean = self.total / max(1, k)
        self.half_band = max(1.0, (hi - lo) / 2.0)
        nbrs = graph.neighbours()
        self.site_adj_self = [[s, *nb] for s, nb in enumerate(nbrs)]
        self.site_xy = graph.xy
        self.bld_site = [int(s) for s in graph.site_of]
        self.site_nodes: list[list[int]] = [[] for _ in range(graph.n_sites)]
        self.node_site: list[int] = []
        self.node_bld: list[int] = []
        self.node_ent: list[int] = []
        self.node_w: list[int] = []
        self.grid_of: list[int] = []
        self.bld_nodes: list[list[int]] = [[] for _ in self.bld_h]
        self.members: list[set[int]] = [set() for _ in range(k)]
        self.gsum: list[int] = [0] * k
        #: rebalance: previous households per (building, grid) under new counts
        self.orig: list[dict[int, int]] | None = None

    # ------------------------------------------------------------------ nodes
    def add_node(self, b: int, ent: int, grid: int, after: int | None = None) -> int:
        v = len(self.node_site)
        s = self.bld_site[b]
        self.node_site.append(s)
        self.node_bld.append(b)
        self.node_ent.append(ent)
        self.node_w.append(0)
        self.grid_of.append(grid)
        self.site_nodes[s].append(v)
        if after is None:
            self.bld_nodes[b].append(v)
        else:
            lst = self.bld_nodes[b]
            lst.insert(lst.index(after) + 1, v)
        if grid >= 0:
            self.members[grid].add(v)
        return v

    def reweigh(self, b: int) -> None:
        """Recompute piece households of building ``b`` and grid totals."""
        nodes = self.bld_nodes[b]
        ws = _piece_weights(self.bld_h[b], self.bld_e[b], [self.node_ent[v] for v in nodes])
        for v, w in zip(nodes, ws, strict=True):
            g = self.grid_of[v]
            if g >= 0:
                self.gsum[g] += w - self.node_w[v]
            self.node_w[v] = w

    def init_pieces(self) -> None:
        """One node per building; buildings above the band are pre-cut."""
        for b, (h, e) in enumerate(zip(self.bld_h, self.bld_e, strict=True)):
            p = 1
            if h > self.hi and e >= 2:
                p = min(e, math.ceil(h / self.target) + 1)
            base, extra = divmod(e, p)
            for i in range(p):
                self.add_node(b, base + (1 if i < extra else 0), -1)
            self.reweigh(b)

    def nbr_nodes(self, v: int) -> Iterable[int]:
        sn = self.site_nodes
        for s in self.site_adj_self[self.node_site[v]]:
            for u in sn[s]:
                if u != v:
                    yield u

    def set_grid(self, v: int, g: int) -> None:
        old = self.grid_of[v]
        if old == g:
            return
        w = self.node_w[v]
        if old >= 0:
            self.members[old].discard(v)
            self.gsum[old] -= w
        if g >= 0:
            self.members[g].add(v)
            self.gsum[g] += w
        self.grid_of[v] = g

    # ------------------------------------------------------------- structure
    def connected(self, nodes: set[int]) -> bool:
        if not nodes:
            return False
        it = iter(nodes)
        start = next(it)
        seen = {start}
        stack = [start]
        sn = self.site_nodes
        adj = self.site_adj_self
        ns = self.node_site
        while stack:
            v = stack.pop()
            for s in adj[ns[v]]:
                for u in sn[s]:
                    if u in nodes and u not in seen:
                        seen.add(u)
                        stack.append(u)
        return len(seen) == len(nodes)

    def components(self, nodes: set[int]) -> list[set[int]]:
        left = set(nodes)
        comps = []
        sn = self.site_nodes
        adj = self.site_adj_self
        ns = self.node_site
        while left:
            start = left.pop()
            comp = {start}
            stack = [start]
            while stack:
                v = stack.pop()
                for s in adj[ns[v]]:
                    for u in sn[s]:
                        if u in left:
                            left.discard(u)
                            comp.add(u)
                            stack.append(u)
            comps.append(comp)
        return comps

    def can_remove(self, g: int, v: int) -> bool:
        rest = self.members[g] - {v}
        return bool(rest) and self.connected(rest)

    def repair(self) -> None:
        """Give every fragment of a grid to the lightest adjacent grid."""
        for g in range(self.k):
            comps = self.components(self.members[g])
            if len(comps) <= 1:
                continue
            comps.sort(key=lambda c: (-sum(self.node_w[v] for v in c), min(c)))
            for comp in comps[1:]:
                cand = {self.grid_of[u] for v in comp for u in self.nbr_nodes(v)} - {g, -1}
                if not cand:
                    continue
                dest = min(cand, key=lambda x: (self.gsum[x], x))
                for v in comp:
                    self.set_grid(v, dest)

    def fill_unassigned(self) -> None:
        """Give unassigned nodes the lightest adjacent grid (multi-source BFS)."""
        pending = [v for v in range(len(self.grid_of)) if self.grid_of[v] < 0]
        while pending:
            nxt = []
            changes = []
            for v in pending:
                cand = {self.grid_of[u] for u in self.nbr_nodes(v)} - {-1}
                if cand:
                    changes.append((v, min(cand, key=lambda x: (self.gsum[x], x))))
                else:
                    nxt.append(v)
            if not changes:  # isolated from every grid: lightest grid overall
                for v in nxt:
                    self.set_grid(v, min(range(self.k), key=lambda x: (self.gsum[x], x)))
                return
            for v, g in changes:
                self.set_grid(v, g)
            pending = nxt

    # ------------------------------------------------------------------ cost
    def cost(self, x: int) -> float:
        if x < self.lo:
            c = BIG + MID * (self.lo - x)
        elif x > self.hi:
            c = BIG + MID * (x - self.hi)
        else:
            c = 0.0
        if not self.rebalance:
            d = (x - self.mean) / self.half_band
            c += CENTER * d * d
        return c

    def bad(self, g: int) -> bool:
        x = self.gsum[g]
        return (x < self.lo or x > self.hi) and bool(self.members[g])

    def n_grids_of(self, b: int, override: dict[int, int] | None = None) -> int:
        if override is None:
            return len({self.grid_of[v] for v in self.bld_nodes[b]})
        return len({override.get(v, self.grid_of[v]) for v in self.bld_nodes[b]})

    def split_delta(self, b: int, override: dict[int, int]) -> float:
        before = self.n_grids_of(b) > 1
        after = self.n_grids_of(b, override) > 1
        return SPLIT * (int(after) - int(before))

    def moved_of(self, b: int, alloc: dict[int, int]) -> int:
        orig = self.orig[b] if self.orig is not None else {}
        return sum(max(0, w - orig.get(g, 0)) for g, w in alloc.items())

    def alloc_of(self, b: int, grid_override: dict[int, int] | None = None) -> dict[int, int]:
        out: dict[int, int] = {}
        for v in self.bld_nodes[b]:
            g = self.grid_of[v] if grid_override is None else grid_override.get(v, self.grid_of[v])
            out[g] = out.get(g, 0) + self.node_w[v]
        return out

    def move_delta_extra(self, changes: dict[int, int]) -> float:
        """Split and movement cost of reassigning nodes ``changes`` (v -> grid)."""
        extra = 0.0
        blds = {self.node_bld[v] for v in changes}
        for b in blds:
            if len(self.bld_nodes[b]) > 1:
                extra += self.split_delta(b, changes)
            if self.rebalance:
                extra += MOVE * (self.moved_of(b, self.alloc_of(b, changes)) - self.moved_of(b, self.alloc_of(b)))
        return extra

    # ---------------------------------------------------------------- search
    def contacts(self, g: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """``(out, in)``: (node of g, adjacent grid) and (foreign node, its grid)."""
        out: dict[tuple[int, int], None] = {}
        inn: dict[tuple[int, int], None] = {}
        go = self.grid_of
        for v in self.members[g]:
            for u in self.nbr_nodes(v):
                h = go[u]
                if h != g and h >= 0:
                    out[(v, h)] = None
                    inn[(u, h)] = None
        return list(out), list(inn)

    def try_fix(self, g: int, allow_split: bool) -> bool:
        x = self.gsum[g]
        over = x > self.hi
        out, inn = self.contacts(g)
        cost = self.cost
        gsum = self.gsum
        w = self.node_w
        best: tuple[float, tuple] | None = None
        # ---- single moves
        pairs = out if over else inn
        for v, h in pairs:
            src, dst = (g, h) if over else (h, g)
            wv = w[v]
            d = cost(gsum[src] - wv) + cost(gsum[dst] + wv) - cost(gsum[src]) - cost(gsum[dst])
            if best is not None and d >= best[0]:
                continue
            d += self.move_delta_extra({v: dst})
            if d < -1e-9 and (best is None or d < best[0]) and self.can_remove(src, v):
                best = (d, ("move", v, dst))
        # ---- swaps with each neighbouring grid
        by_grid_out: dict[int, list[int]] = {}
        for v, h in out:
            by_grid_out.setdefault(h, []).append(v)
        by_grid_in: dict[int, list[int]] = {}
        for u, h in inn:
            by_grid_in.setdefault(h, []).append(u)
        for h, vs in by_grid_out.items():
            us = by_grid_in.get(h, [])
            for v in vs:
                for u in us:
                    diff = w[v] - w[u]
                    if (over and diff <= 0) or (not over and diff >= 0):
                        continue
                    d = cost(gsum[g] - diff) + cost(gsum[h] + diff) - cost(gsum[g]) - cost(gsum[h])
                    if d >= -1e-9 or (best is not None and d >= best[0]):
                        continue
                    d += self.move_delta_extra({v: h, u: g})
                    if d >= -1e-9 or (best is not None and d >= best[0]):
                        continue
                    ga = (self.members[g] - {v}) | {u}
                    gb = (self.members[h] - {u}) | {v}
                    if self.connected(ga) and self.connected(gb):
                        best = (d, ("swap", v, u, g, h))
        if best is None:
            best = self.best_chain(g, over, out, inn)
        if best is None and allow_split:
            best = self.best_split(g, over, out, inn)
        if best is None:
            return False
        self.apply(best[1])
        return True

    def best_chain(
        self, g: int, over: bool, out: list[tuple[int, int]], inn: list[tuple[int, int]]
    ) -> tuple[float, tuple] | None:
        """Two whole-node moves g -> B -> C (or C -> B -> g when under-full)."""
        cost = self.cost
        gsum = self.gsum
        w = self.node_w
        best: tuple[float, tuple] | None = None
        pairs = out if over else inn
        for v, h in pairs:
            wv = w[v]
            if over:
                xg, xh = gsum[g] - wv, gsum[h] + wv
            else:
                xg, xh = gsum[g] + wv, gsum[h] - wv
            d1 = cost(xg) - cost(gsum[g])
            if d1 >= 0:
                continue
            src_ok: bool | None = None
            # second step: h sheds (over) or pulls (under) one node
            hm = self.members[h] | {v} if over else self.members[h] - {v}
            seen: set[tuple[int, int]] = set()
            for t in hm:
                for u in self.nbr_nodes(t):
                    c = self.grid_of[u]
                    if c in (g, h) or c < 0:
                        continue
                    if over:
                        if t == v:
                            continue
                        mv, _a, bdst = t, h, c
                    else:
                        mv, _a, bdst = u, c, h
                    key = (mv, bdst)
                    if key in seen:
                        continue
                    seen.add(key)
                    wm = w[mv]
                    if over:
                        xh2, xc2 = xh - wm, gsum[c] + wm
                    else:
                        xh2, xc2 = xh + wm, gsum[c] - wm
                    d = d1 + cost(xh2) + cost(xc2) - cost(gsum[h]) - cost(gsum[c])
                    if d >= -1e-9 or (best is not None and d >= best[0]):
                        continue
                    changes = {v: h, mv: c} if over else {v: g, mv: h}
                    d += self.move_delta_extra(changes)
                    if d >= -1e-9 or (best is not None and d >= best[0]):
                        continue
                    if src_ok is None:
                        src_ok = self.can_remove(g if over else h, v)
                    if not src_ok:
                        break
                    if over:
                        ok = self.connected((self.members[h] | {v}) - {mv})
                    else:
                        ok = self.connected((self.members[c]) - {mv})
                    if ok:
                        best = (d, ("chain", v, changes[v], mv, changes[mv]))
                if src_ok is False:
                    break
        return best

    def best_split(
        self, g: int, over: bool, out: list[tuple[int, int]], inn: list[tuple[int, int]]
    ) -> tuple[float, tuple] | None:
        """Move some entrances of a boundary node to the other grid."""
        cost = self.cost
        gsum = self.gsum
        best: tuple[float, tuple] | None = None
        pairs = out if over else inn
        for v, h in pairs:
            e = self.node_ent[v]
            if e < 2:
                continue
            b = self.node_bld[v]
            src, dst = (g, h) if over else (h, g)
            nodes = self.bld_nodes[b]
            pos = nodes.index(v)
            counts = [self.node_ent[u] for u in nodes]
            for j in range(1, e):
                new_counts = [*counts[:pos], e - j, j, *counts[pos + 1 :]]
                ws = _piece_weights(self.bld_h[b], self.bld_e[b], new_counts)
                moved = ws[pos + 1]
                kept_delta = ws[pos] - self.node_w[v]  # always <= 0
                xs = gsum[src] + kept_delta
                xd = gsum[dst] + moved
                d = cost(xs) + cost(xd) - cost(gsum[src]) - cost(gsum[dst])
                if d >= 0:
                    continue
                grids_before = {self.grid_of[u] for u in nodes}
                d += SPLIT * (int(len(grids_before | {dst}) > 1) - int(len(grids_before) > 1))
                if self.rebalance:
                    before = self.alloc_of(b)
                    after = dict(before)
                    after[src] = after.get(src, 0) - moved
                    after[dst] = after.get(dst, 0) + moved
                    d += MOVE * (self.moved_of(b, after) - self.moved_of(b, before))
                if d < -1e-9 and (best is None or d < best[0]):
                    best = (d, ("split", v, j, dst))
        return best

    def amounts(self, v: int, allow_split: bool) -> list[tuple[int, int]]:
        """``(households, entrances)`` node ``v`` can hand over: whole (0) or j entrances."""
        out = [(self.node_w[v], 0)]
        e = self.node_ent[v]
        if allow_split and e >= 2:
            b = self.node_bld[v]
            nodes = self.bld_nodes[b]
            pos = nodes.index(v)
            counts = [self.node_ent[u] for u in nodes]
            for j in range(1, e):
                ws = _piece_weights(self.bld_h[b], self.bld_e[b], [*counts[:pos], e - j, j, *counts[pos + 1 :]])
                out.append((ws[pos + 1], j))
        return out

    def deep_chain(self, g: int, allow_split: bool, max_depth: int = 3) -> bool:
        """Ejection chain g -> B -> C -> ... (whole nodes or entrances) that ends
        with every grid on the path inside the band; applies the cheapest found."""
        over = self.gsum[g] > self.hi
        lo, hi = self.lo, self.hi
        gsum = self.gsum
        best: list = [None, None]  # (key, ops)
        budget = [4000]

        def finish(ops: list[tuple[int, int, int, int]]) -> None:
            # ops: (node, src, dst, j) ; j == 0 whole move
            new_splits = 0
            moved = 0
            changes: dict[int, int] = {}
            for v, _src, dst, j in ops:
                if j == 0:
                    changes[v] = dst
            for v, _src, dst, j in ops:
                b = self.node_bld[v]
                grids = {changes.get(u, self.grid_of[u]) for u in self.bld_nodes[b]}
                before = len({self.grid_of[u] for u in self.bld_nodes[b]}) > 1
                if j:
                    grids.add(dst)
                new_splits += int(len(grids) > 1) - int(before)
                if self.rebalance:
                    moved += self.node_w[v] if j == 0 else 1
            key = (new_splits, moved, len(ops))
            if best[0] is not None and key >= best[0]:
                return
            # connectivity of every grid on the path; a new piece stands at
            # its building's site, which node v represents in the check
            touched = {src for _, src, _, _ in ops} | {dst for _, _, dst, _ in ops}
            for t in touched:
                mem = {v for v in self.members[t] if changes.get(v, t) == t}
                mem |= {v for v, d in changes.items() if d == t}
                mem |= {v for v, _, d, j in ops if j and d == t}
                if not self.connected(mem):
                    return
            best[0], best[1] = key, list(ops)

        def rec(cur: int, x_cur: int, visited: set[int], ops: list, depth: int) -> None:
            budget[0] -= 1
            if budget[0] < 0:
                return
            out, inn = self.contacts(cur)
            moved_in = {v for v, *_ in ops}
            pairs = out if over else inn
            for v, h in pairs:
                if h in visited or v in moved_in:
                    continue
                for a, j in self.amounts(v, allow_split):
                    if over:
                        nx_cur, nx_h = x_cur - a, gsum[h] + a
                        src, dst = cur, h
                    else:
                        nx_cur, nx_h = x_cur + a, gsum[h] - a
                        src, dst = h, cur
                    if not lo <= nx_cur <= hi:
                        continue
                    if j == 0 and len(self.members[src]) <= 1:
                        continue
                    op = (v, src, dst, j)
                    if lo <= nx_h <= hi:
                        finish([*ops, op])
                    elif depth < max_depth and ((over and nx_h > hi) or (not over and nx_h < lo)):
                        rec(h, nx_h, visited | {h}, [*ops, op], depth + 1)

        rec(g, gsum[g], {g}, [], 1)
        if best[1] is None:
            return False
        for v, _src, dst, j in best[1]:
            if j == 0:
                self.set_grid(v, dst)
            else:
                self.apply(("split", v, j, dst))
        return True

    def apply(self, mv: tuple) -> None:
        kind = mv[0]
        if kind == "move":
            _, v, dst = mv
            self.set_grid(v, dst)
        elif kind == "swap":
            _, v, u, g, h = mv
            self.set_grid(v, h)
            self.set_grid(u, g)
        elif kind == "chain":
            _, v, gv, u, gu = mv
            self.set_grid(v, gv)
            self.set_grid(u, gu)
        elif kind == "split":
            _, v, j, dst = mv
            b = self.node_bld[v]
            self.node_ent[v] -= j
            self.add_node(b, j, dst, after=v)
            self.reweigh(b)

    def improve(self, allow_split: bool, max_rounds: int = 30) -> None:
        for _ in range(max_rounds):
            bad = [g for g in range(self.k) if self.bad(g)]
            if not bad:
                return
            changed = False
            for g in bad:
                if self.bad(g) and self.try_fix(g, allow_split):
                    changed = True
            if not changed:
                break
        for _ in range(3):
            changed = False
            for g in range(self.k):
                if self.bad(g) and self.deep_chain(g, allow_split):
                    changed = True
            if not changed:
                return

    # ------------------------------------------------------------ bisection
    def bisect(self, rng: np.random.Generator | None = None) -> None:
        """Initial partition of all nodes by recursive weighted bisection.

        With ``rng`` every cut direction is rotated at random (restarts)."""
        n = len(self.node_site)
        xy = self.site_xy[np.asarray(self.node_site, dtype=np.int64)]
        wts = np.asarray(self.node_w, dtype=float)
        labels = np.zeros(n, dtype=np.int64)
        stack: list[tuple[np.ndarray, int, int]] = [(np.arange(n), self.k, 0)]
        while stack:
            idx, k, off = stack.pop()
            if k <= 1 or idx.size <= 1:
                labels[idx] = off
                continue
            if idx.size <= k:
                labels[idx] = off + np.arange(idx.size)
                continue
            turn = float(rng.uniform(-math.pi / 2, math.pi / 2)) if rng is not None else 0.0
            left, k1 = self._cut(idx, xy[idx], wts[idx], k, turn)
            stack.append((idx[~left], k - k1, off + k1))
            stack.append((idx[left], k1, off))
        for v in range(n):
            self.set_grid(v, int(labels[v]))
        # drop empty grids (only when a community has fewer nodes than k)
        used = sorted({int(x) for x in labels})
        if len(used) < self.k:
            remap = {g: i for i, g in enumerate(used)}
            members = [self.members[g] for g in used]
            gsum = [self.gsum[g] for g in used]
            self.k = len(used)
            self.members, self.gsum = members, gsum
            self.grid_of = [remap[g] for g in self.grid_of]
            self.mean = self.total / self.k

    def _cut(self, idx: np.ndarray, xy: np.ndarray, w: np.ndarray, k: int, turn: float = 0.0) -> tuple[np.ndarray, int]:
        k1 = k // 2
        k2 = k - k1
        n = idx.size
        total = float(w.sum())
        tgt = total * k1 / k
        wsum = total if total > 0 else 1.0
        c = xy - (xy * w[:, None]).sum(axis=0) / wsum if total > 0 else xy - xy.mean(axis=0)
        cov = (c * (w[:, None] if total > 0 else 1.0)).T @ c
        _evals, evecs = np.linalg.eigh(cov)
        base = math.atan2(evecs[1, 1], evecs[0, 1]) + turn
        small = k <= 4 and n <= 400
        lo, hi = self.lo, self.hi
        pos = np.arange(1, n)  # left = order[:pos]
        valid = (pos >= k1) & (n - pos >= k2)
        if not small:
            proj = c[:, 0] * math.cos(base) + c[:, 1] * math.sin(base)
            order = np.argsort(proj, kind="stable")
            cs = np.cumsum(w[order])[:-1]
            p = int(np.argmin(np.where(valid, np.abs(cs - tgt), np.inf)))
            chosen = order[: p + 1]
        else:
            # all eight directions at once: columns are directions
            offs = np.arange(8) * (math.pi / 8)
            th = base + offs
            proj = c @ np.stack((np.cos(th), np.sin(th)))
            order = np.argsort(proj, axis=0, kind="stable")
            cs = np.cumsum(w[order], axis=0)[:-1]
            rs = total - cs
            infeas = (
                np.maximum(0, k1 * lo - cs)
                + np.maximum(0, cs - k1 * hi)
                + np.maximum(0, k2 * lo - rs)
                + np.maximum(0, rs - k2 * hi)
            )
            pen = 0.25 * np.degrees(np.minimum(offs, math.pi - offs))
            score = np.abs(cs - tgt) + 1000.0 * infeas + pen[None, :]
            score[~valid, :] = np.inf
            flat = score.ravel()
            m = min(12, flat.size)
            candidates = np.argpartition(flat, m - 1)[:m]
            candidates = candidates[np.lexsort((candidates % 8, flat[candidates]))]
            top = [t for t in candidates.tolist() if np.isfinite(flat[t])] or [int(np.argmin(flat))]
            p0, a0 = divmod(top[0], 8)
            chosen = order[: p0 + 1, a0]
            if n <= 64:
                allset = set(idx.tolist())
                for t in top:
                    p, a = divmod(t, 8)
                    sel = order[: p + 1, a]
                    left_nodes = set(idx[sel].tolist())
                    if self.connected(left_nodes) and self.connected(allset - left_nodes):
                        chosen = sel
                        break
        mask = np.zeros(n, dtype=bool)
        mask[chosen] = True
        return mask, k1

    def score(self) -> tuple[int, int, int]:
        """(grids outside the band, households outside it, split buildings)."""
        bad = [g for g in range(self.k) if self.bad(g)]
        out = sum(max(self.lo - self.gsum[g], self.gsum[g] - self.hi) for g in bad)
        splits = sum(1 for b in range(len(self.bld_h)) if self.n_grids_of(b) > 1)
        return len(bad), out, splits

    # --------------------------------------------------------------- output
    def allocation(self) -> list[list[tuple[int, int]]]:
        """Per building: ``[(grid, households), ...]`` merged by grid."""
        out = []
        for b in range(len(self.bld_h)):
            acc: dict[int, int] = {}
            for v in self.bld_nodes[b]:
                if self.node_w[v] > 0 or not acc:
                    g = self.grid_of[v]
                    acc[g] = acc.get(g, 0) + self.node_w[v]
            parts = [(g, hh) for g, hh in acc.items() if hh > 0] or [(self.grid_of[self.bld_nodes[b][0]], 0)]
            out.append(parts)
        return out


def solve_divide(
    graph: SiteGraph,
    households: Sequence[int],
    entrances: Sequence[int],
    target: int,
    lo: int,
    hi: int,
) -> tuple[list[list[tuple[int, int]]], int]:
    """Divide one community; returns per-building allocation and grid count."""
    total = int(sum(households))
    k = choose_k(total, target, lo, hi)
    k = max(1, min(k, int(sum(max(1, int(e)) for e in entrances))))
    best: tuple[tuple[int, int, int], CommunitySolver] | None = None
    restarts = RESTARTS_SMALL if len(households) <= SMALL_COMMUNITY else RESTARTS_LARGE
    if not lo <= total / k <= hi:
        restarts = 0  # some grid must stay out of band whatever the partition
    for attempt in range(restarts + 1):
        s = CommunitySolver(graph, households, entrances, target, lo, hi, k)
        s.init_pieces()
        if s.k <= 1:
            for v in range(len(s.node_site)):
                s.set_grid(v, 0)
            return s.allocation(), s.k
        s.bisect(np.random.default_rng(attempt) if attempt else None)
        s.repair()
        s.improve(allow_split=False)
        s.improve(allow_split=True)
        score = s.score()
        if best is None or score < best[0]:
            best = (score, s)
        if score[0] == 0:
            break
    assert best is not None
    return best[1].allocation(), best[1].k


def solve_rebalance(
    graph: SiteGraph,
    households: Sequence[int],
    entrances: Sequence[int],
    previous: Sequence[Sequence[tuple[int, int]] | None],
    k: int,
    target: int,
    lo: int,
    hi: int,
) -> tuple[list[list[tuple[int, int]]], int, list[dict[int, int]]]:
    """Rebalance one community from a previous allocation.

    ``previous[b]`` is ``[(grid, entrance_count), ...]`` for buildings that
    existed before (entrance counts sum to the building's entrances), ``None``
    for new buildings.  Grids are ``0..k-1``.  Returns the new allocation,
    the grid count and the previous allocation re-expressed in new household
    counts (for measuring moved households).
    """
    s = CommunitySolver(graph, households, entrances, target, lo, hi, k, rebalance=True)
    orig: list[dict[int, int]] = []
    for b, prev in enumerate(previous):
        if prev:
            for g, ne in prev:
                s.add_node(b, ne, g)
            s.reweigh(b)
            orig.append(s.alloc_of(b))
        else:
            s.add_node(b, s.bld_e[b], -1)
            s.reweigh(b)
            orig.append({})
    s.orig = orig
    s.fill_unassigned()
    # new buildings are not "moved": count them as previously where they are now
    for b, prev in enumerate(previous):
        if not prev:
            orig[b] = s.alloc_of(b)
    s.repair()
    _adjust_k(s)
    s.improve(allow_split=False)
    s.improve(allow_split=True)
    return s.allocation(), s.k, orig


def _adjust_k(s: CommunitySolver) -> None:
    """Add or dissolve grids when the community total no longer fits k grids."""
    want = choose_k(s.total, s.target, s.lo, s.hi)
    mean = s.total / max(1, s.k)
    if s.lo <= mean <= s.hi or want == s.k:
        return
    if want > s.k:
        for _ in range(want - s.k):
            g = max(range(s.k), key=lambda x: s.gsum[x])
            members = s.members[g]
            if len(members) < 2:
                return
            # carve roughly half of g (by weight) off, grown from its far end
            pts = {v: s.site_xy[s.node_site[v]] for v in members}
            cen = np.mean(list(pts.values()), axis=0)
            start = max(members, key=lambda v: float(np.hypot(*(pts[v] - cen))))
            new = s.k
            s.k += 1
            s.members.append(set())
            s.gsum.append(0)
            goal = s.gsum[g] / 2
            grabbed = 0
            frontier = [start]
            seen = {start}
            while frontier and grabbed < goal:
                v = frontier.pop(0)
                if len(s.members[g]) <= 1 or not s.can_remove(g, v):
                    continue
                s.set_grid(v, new)
                grabbed += s.node_w[v]
                for u in s.nbr_nodes(v):
                    if u not in seen and s.grid_of[u] == g:
                        seen.add(u)
                        frontier.append(u)
            if not s.members[new]:
                s.members.pop()
                s.gsum.pop()
                s.k -= 1
                return
    else:
        live = s.k
        for _ in range(s.k - want):
            if live <= 1:
                break
            g = min((x for x in range(s.k) if s.members[x]), key=lambda x: (s.gsum[x], x))
            for v in list(s.members[g]):
                s.set_grid(v, -1)
            # hand its nodes to neighbouring grids; the grid stays empty (its id dies)
            pending = [v for v in range(len(s.grid_of)) if s.grid_of[v] < 0]
            while pending:
                rest = []
                for v in pending:
                    cand = {s.grid_of[u] for u in s.nbr_nodes(v)} - {-1}
                    if cand:
                        s.set_grid(v, min(cand, key=lambda x: (s.gsum[x], x)))
                    else:
                        rest.append(v)
                if len(rest) == len(pending):
                    for v in rest:
                        s.set_grid(v, max((x for x in range(s.k) if s.members[x]), key=lambda x: -s.gsum[x]))
                    break
                pending = rest
            live -= 1
    s.mean = s.total / max(1, sum(1 for m in s.members if m))
