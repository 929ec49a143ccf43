/* Safe zones on a map: click to set a circle's centre, or click the corners of a polygon.
   The form holds the values; the map only fills them in. */
(function () {
  "use strict";
  var el = document.getElementById("zone-map");
  if (!el || !window.L) { return; }
  var form = document.getElementById("zone-form");
  var field = function (name) { return form.querySelector("[name=" + name + "]"); };
  var map = L.map(el);
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
  }
  var existing = JSON.parse(document.getElementById("zone-features").textContent);
  var home = JSON.parse(document.getElementById("zone-home").textContent);
  // Centred on the home building (the form starts as a circle around it), else on the zones.
  if (home) { map.setView(home, 16); } else { map.setView([41.1, 122.95], 13); }
  if (window.wanggeSurroundings) { window.wanggeSurroundings(map); }
  var layer = L.geoJSON(existing, { style: { color: "#1f7a3d", weight: 2, fillOpacity: 0.15 } }).addTo(map);
  if (!home && layer.getLayers().length) { map.fitBounds(layer.getBounds(), { padding: [16, 16] }); }
  if (home) {
    L.circleMarker(home, { radius: 8, color: "#a61b1b", weight: 3, fillColor: "#ffffff", fillOpacity: 1, className: "home-dot" })
      .bindTooltip(el.dataset.labelHome, { permanent: true, direction: "top", className: "map-label" }).addTo(map);
  }

  var circle = null, polygon = null, vertices = [];
  function radius() { return parseFloat(field("radius_m").value) || 300; }
  function drawCircle() {
    var lat = parseFloat(field("center_lat").value), lon = parseFloat(field("center_lon").value);
    if (isNaN(lat) || isNaN(lon)) { return; }
    if (circle) { circle.setLatLng([lat, lon]).setRadius(radius()); }
    else { circle = L.circle([lat, lon], { radius: radius(), color: "#b8282e", className: "zone-draft" }).addTo(map); }
  }
  function drawPolygon() {
    if (polygon) { map.removeLayer(polygon); polygon = null; }
    if (vertices.length) { polygon = L.polygon(vertices, { color: "#b8282e" }).addTo(map); }
    field("polygon").value = vertices.map(function (v) { return v[0].toFixed(6) + "," + v[1].toFixed(6); }).join("\n");
  }
  map.on("click", function (e) {
    if (field("kind").value === "circle") {
      field("center_lat").value = e.latlng.lat.toFixed(6);
      field("center_lon").value = e.latlng.lng.toFixed(6);
      drawCircle();
    } else {
      vertices.push([e.latlng.lat, e.latlng.lng]);
      drawPolygon();
    }
  });
  field("radius_m").addEventListener("input", drawCircle);
  document.getElementById("zone-clear").addEventListener("click", function () { vertices = []; drawPolygon(); });
  drawCircle();
  if (circle && home) { map.fitBounds(circle.getBounds(), { padding: [16, 16], animate: false }); }
  el.dataset.center = map.getCenter().lat.toFixed(6) + "," + map.getCenter().lng.toFixed(6);
  el.dataset.ready = "true";
})();
