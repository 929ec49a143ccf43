/* The grid map: grids as polygons, buildings as dots, from the scoped GeoJSON endpoint.
   No base map unless the operator configured WANGGE_TILE_URL. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) { return; }
  var status = document.getElementById("map-status");
  var d = el.dataset;
  var map = L.map(el, { preferCanvas: false, zoomSnap: 0.25 });
  if (d.tileUrl) {
    L.tileLayer(d.tileUrl, { attribution: d.tileAttribution || "", maxZoom: 19 }).addTo(map);
  }
  map.setView([41.1, 122.95], 12);

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function popup(p) {
    var count = p.households === null || p.households === undefined ? "" : " · " + p.households + " " + d.labelHouseholds;
    return '<a href="' + esc(p.url) + '"><b>' + esc(p.name) + "</b></a>" + esc(count);
  }

  // Names on the map (it has no base map unless tiles are configured): streets and communities
  // always, grids from zoom 15 and buildings from zoom 17, where they no longer cover each other.
  var labelled = [];
  var minZoom = { area: 0, grid: 15, building: 17 };
  function label(layer, name, kind, direction) {
    layer.bindTooltip(esc(name), { permanent: true, direction: direction, className: "map-label " + kind + "-label" });
    labelled.push({ layer: layer, kind: kind });
  }
  function showLabels() {
    var zoom = map.getZoom();
    labelled.forEach(function (item) {
      var tooltip = item.layer.getTooltip();
      if (tooltip) { tooltip.setOpacity(zoom >= minZoom[item.kind] ? 0.9 : 0); }
    });
  }
  map.on("zoomend", showLabels);

  // The server sends what this view needs: outlines simplified for the zoom and, once zoomed in,
  // the buildings in view (clusters further out). The first answer carries the scope's extent.
  var areaLayer = null, buildingLayer = null, pending = 0, fitted = false;
  function clusterIcon(f, latlng) {
    var n = f.properties.buildings;
    return L.circleMarker(latlng, {
      radius: Math.min(22, 8 + 3 * Math.log(n)), color: "#ffffff", weight: 2,
      fillColor: "#0b5cad", fillOpacity: 0.75, className: "building-cluster"
    }).bindTooltip(String(n), { permanent: true, direction: "center", className: "cluster-label" });
  }
  function draw(data) {
    if (areaLayer) { map.removeLayer(areaLayer); }
    if (buildingLayer) { map.removeLayer(buildingLayer); }
    labelled = [];
    var areas = { type: "FeatureCollection", features: data.features.filter(function (f) { return f.properties.kind === "grid" || f.properties.kind === "community" || f.properties.kind === "street"; }) };
    var points = { type: "FeatureCollection", features: data.features.filter(function (f) { return f.properties.kind === "building" || f.properties.kind === "cluster"; }) };
    areaLayer = L.geoJSON(areas, {
      style: function (f) {
        if (f.properties.kind === "street") {
          return { color: "#7a8694", weight: 3, fill: false, className: "street-shape" };
        }
        if (f.properties.kind === "community") {
          return { color: "#5d6b7a", weight: 2, dashArray: "6 4", fill: false, className: "community-shape" };
        }
        return { color: "#b8282e", weight: 2, fillColor: "#b8282e", fillOpacity: 0.12, className: "grid-shape" };
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(popup(f.properties));
        label(layer, f.properties.name, f.properties.kind === "grid" ? "grid" : "area", "center");
      }
    }).addTo(map);
    // Many dots: one canvas draws them faster than SVG nodes. A 14 px dot is drawn, but a finger
    // needs 44 px: an invisible 30 px stroke (SVG) or the canvas's click tolerance (15 px around
    // the 7 px radius) widens what a tap hits.
    var dotRenderer = points.features.length > 1500 ? L.canvas({ padding: 0.2, tolerance: 15 }) : undefined;
    buildingLayer = L.geoJSON(points, {
      pointToLayer: function (f, latlng) {
        if (f.properties.kind === "cluster") { return clusterIcon(f, latlng); }
        return L.circleMarker(latlng, { renderer: dotRenderer, radius: 7, color: "#ffffff", opacity: 0, weight: dotRenderer ? 0 : 30, fillColor: "#0b5cad", fillOpacity: 0.95, className: "building-dot" });
      },
      onEachFeature: function (f, layer) {
        if (f.properties.kind === "cluster") {
          layer.on("click", function () {
            var b = f.properties.bounds;
            map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [24, 24], maxZoom: 18 });
          });
        } else {
          layer.bindPopup(popup(f.properties));
          if (!dotRenderer) { label(layer, f.properties.name, "building", "right"); }
        }
      }
    }).addTo(map);
    showLabels();
  }
  function load(initial) {
    var url = d.geojson;
    if (!initial) {
      var b = map.getBounds();
      url += "?zoom=" + Math.round(map.getZoom()) + "&bbox=" + [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
    }
    var mine = ++pending;
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        if (mine !== pending) { return; }  // a later view has been asked for
        draw(data);
        if (initial) {
          var e = data.extent;
          if (e) {
            fitted = true;
            map.fitBounds([[e[1], e[0]], [e[3], e[2]]], { padding: [12, 12], animate: false });
            status.textContent = d.labelLoaded;
          } else {
            status.textContent = d.labelEmpty;
          }
        }
        el.dataset.loaded = "true";
      })
      .catch(function () { status.textContent = d.labelError; el.dataset.loaded = "error"; });
  }
  var timer = null;
  map.on("moveend", function () {
    if (!fitted) { return; }
    clearTimeout(timer);
    timer = setTimeout(function () { load(false); }, 250);
  });
  load(true);
})();
