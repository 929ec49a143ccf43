"""Which buildings of a community touch each other (the contiguity graph).

A grid is contiguous when its buildings form a connected subgraph of the
Delaunay triangulation of its community's buildings.  Two practical wrinkles
make "the" Delaunay triangulation ambiguous, and this module absorbs them so
that grids are contiguous under any reasonable independent recomputation:

* Co-located buildings (duplicate coordinates) are one *site*; qhull would
  silently drop all but one of them.  Buildings on one site are adjacent to
  each other and to everything the site touches.  Points qhull still drops
  (numerically coplanar) are merged into their nearest site.
* Near-cocircular quadrilaterals (rows of buildings along streets make many)
  can be triangulated either way, and the choice flips between projections
  (degrees vs metres, UTM vs local equirectangular).  The engine therefore
  uses a *robust* graph: Delaunay edges that are unambiguous both in local
  metres and in raw lon/lat degrees.  If dropping ambiguous edges disconnects
  the community, the shortest metric Delaunay edges reconnect it.

Degenerate communities (1 or 2 sites, all sites collinear) are chained along
their principal axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay

try:  # scipy >= 1.9 exposes QhullError here
    from scipy.spatial import QhullError
except ImportError:  # pragma: no cover
    from scipy.spatial.qhull import QhullError  # type: ignore[no-redef]

EARTH_RADIUS_M = 6_371_008.8
#: Delaunay edges whose opposite angles sum to within this of pi (radians)
#: are considered ambiguous (their quadrilateral is nearly cocircular).
AMBIGUITY_RAD = 5e-3


def project(lon: np.ndarray, lat: np.ndarray, lon0: float | None = None, lat0: float | None = None) -> np.ndarray:
    """Local equirectangular projection to metres (good to ~1e-4 over a city)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon0 is None:
        lon0 = float(np.mean(lon)) if lon.size else 0.0
    if lat0 is None:
        lat0 = float(np.mean(lat)) if lat.size else 0.0
    k = np.pi / 180.0 * EARTH_RADIUS_M
    return np.column_stack(((lon - lon0) * k * np.cos(np.radians(lat0)), (lat - lat0) * k))


def unproject(xy: np.ndarray, lon0: float, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`project`."""
    k = np.pi / 180.0 * EARTH_RADIUS_M
    return xy[:, 0] / (k * np.cos(np.radians(lat0))) + lon0, xy[:, 1] / k + lat0


@dataclass(slots=True)
class SiteGraph:
    """Adjacency between the distinct locations (sites) of one community."""

    #: building (position in the community's arrays) -> site index
    site_of: np.ndarray
    #: site coordinates in metres, shape (n_sites, 2)
    xy: np.ndarray
    #: CSR adjacency between sites (symmetric, no self loops)
    indptr: np.ndarray
    indices: np.ndarray

    @property
    def n_sites(self) -> int:
        return int(self.xy.shape[0])

    def neighbours(self) -> list[list[int]]:
        ip, ix = self.indptr, self.indices.tolist()
        return [ix[ip[i] : ip[i + 1]] for i in range(self.n_sites)]

    def edges(self) -> np.ndarray:
        """Undirected edges as an (m, 2) array with ``a < b``."""
        rows = np.repeat(np.arange(self.n_sites), np.diff(self.indptr))
        mask = rows < self.indices
        return np.column_stack((rows[mask], self.indices[mask]))


def _chain(pts: np.ndarray) -> np.ndarray:
    """Edges joining points consecutively along their principal axis."""
    n = pts.shape[0]
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    c = pts - pts.mean(axis=0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    order = np.argsort(c @ vt[0], kind="stable")
    e = np.column_stack((order[:-1], order[1:]))
    return np.sort(e, axis=1)


def _delaunay(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Delaunay edges of ``pts`` with their ambiguity margin.

    Returns ``(edges, margin, coplanar)`` where ``margin`` is ``pi`` minus the
    sum of the two angles opposite each edge (``inf`` on the hull) and
    ``coplanar`` is an (m, 2) array ``[point, nearest vertex]`` for points
    qhull left out.  ``None`` when the points are degenerate (collinear).
    """
    n = pts.shape[0]
    if n < 3:
        return None
    span = np.ptp(pts, axis=0)
    if not np.all(span > 0):
        return None
    try:
        tri = Delaunay(pts)
    except (QhullError, ValueError):
        return None
    s = tri.simplices
    if s.shape[0] == 0:
        return None
    p = pts[s]
    keys = []
    angles = []
    for i in range(3):
        a = p[:, (i + 1) % 3] - p[:, i]
        b = p[:, (i + 2) % 3] - p[:, i]
        cross = np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])
        dot = (a * b).sum(axis=1)
        angles.append(np.arctan2(cross, dot))
        u = s[:, (i + 1) % 3].astype(np.int64)
        v = s[:, (i + 2) % 3].astype(np.int64)
        keys.append(np.minimum(u, v) * n + np.maximum(u, v))
    key = np.concatenate(keys)
    ang = np.concatenate(angles)
    uniq, inv = np.unique(key, return_inverse=True)
    total = np.bincount(inv, weights=ang, minlength=uniq.size)
    count = np.bincount(inv, minlength=uniq.size)
    margin = np.where(count >= 2, np.pi - total, np.inf)
    edges = np.column_stack((uniq // n, uniq % n))
    cop = tri.coplanar
    coplanar = (
        np.column_stack((cop[:, 0], cop[:, 2])).astype(np.int64)
        if cop is not None and len(cop)
        else np.empty((0, 2), dtype=np.int64)
    )
    return edges, margin, coplanar


def _csr(n: int, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if edges.size == 0:
        return np.zeros(n + 1, dtype=np.int64), np.empty(0, dtype=np.int64)
    a = np.concatenate((edges[:, 0], edges[:, 1]))
    b = np.concatenate((edges[:, 1], edges[:, 0]))
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    keep = np.ones(a.size, dtype=bool)
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b = a[keep], b[keep]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    return indptr, b.astype(np.int64)


def _reconnect(n: int, edges: np.ndarray, candidates: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Add the shortest ``candidates`` edges needed to make the graph connected."""
    if n <= 1:
        return edges
    if edges.size:
        g = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
        ncomp, label = connected_components(g, directed=False)
    else:
        ncomp, label = n, np.arange(n)
    if ncomp == 1:
        return edges
    cand = candidates[label[candidates[:, 0]] != label[candidates[:, 1]]]
    length = np.hypot(*(pts[cand[:, 0]] - pts[cand[:, 1]]).T)
    parent = list(range(ncomp))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    extra = []
    for i in np.argsort(length, kind="stable").tolist():
        ra, rb = find(int(label[cand[i, 0]])), find(int(label[cand[i, 1]]))
        if ra != rb:
            parent[ra] = rb
            extra.append(cand[i])
            ncomp -= 1
            if ncomp == 1:
                break
    if not extra:
        return edges
    return np.vstack((edges.reshape(-1, 2), np.array(extra, dtype=np.int64)))


def build_site_graph(lon: np.ndarray, lat: np.ndarray, robust: bool = True) -> SiteGraph:
    """Contiguity graph of one community's buildings.

    ``robust=True`` (used for dividing) keeps only edges that are Delaunay
    edges unambiguously in both metres and degrees; ``robust=False`` (used
    for evaluation) is the plain Delaunay triangulation in metres.  Both
    treat co-located buildings as one site.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    ll = np.column_stack((lon, lat))
    if ll.shape[0] == 0:
        return SiteGraph(np.empty(0, np.int64), np.empty((0, 2)), np.zeros(1, np.int64), np.empty(0, np.int64))
    sites_ll, site_of = np.unique(ll, axis=0, return_inverse=True)
    site_of = site_of.reshape(-1)
    xy = project(sites_ll[:, 0], sites_ll[:, 1])
    n = xy.shape[0]
    dm = _delaunay(xy)
    if dm is None:
        edges = _chain(xy)
        indptr, indices = _csr(n, edges)
        return SiteGraph(site_of, xy, indptr, indices)
    edges_m, margin_m, coplanar = dm
    if coplanar.size:
        # Merge points qhull dropped into their nearest vertex, then redo.
        remap = np.arange(n)
        remap[coplanar[:, 0]] = coplanar[:, 1]
        keep = np.ones(n, dtype=bool)
        keep[coplanar[:, 0]] = False
        new_index = np.cumsum(keep) - 1
        site_of = new_index[remap[site_of]]
        sites_ll = sites_ll[keep]
        xy = xy[keep]
        n = xy.shape[0]
        dm = _delaunay(xy)
        if dm is None:
            edges = _chain(xy)
            indptr, indices = _csr(n, edges)
            return SiteGraph(site_of, xy, indptr, indices)
        edges_m, margin_m, _ = dm
    if not robust:
        indptr, indices = _csr(n, edges_m)
        return SiteGraph(site_of, xy, indptr, indices)
    key_m = edges_m[:, 0] * n + edges_m[:, 1]
    good = key_m[margin_m > AMBIGUITY_RAD]
    dg = _delaunay(sites_ll)
    if dg is not None:
        edges_g, margin_g, _ = dg
        key_g = edges_g[:, 0] * n + edges_g[:, 1]
        good = np.intersect1d(good, key_g[margin_g > AMBIGUITY_RAD], assume_unique=True)
    edges = np.column_stack((good // n, good % n))
    edges = _reconnect(n, edges, edges_m, xy)
    indptr, indices = _csr(n, edges)
    return SiteGraph(site_of, xy, indptr, indices)
