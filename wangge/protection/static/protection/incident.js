/* The live incident map: the trail of the last hours, the last known location and sightings.
   The data comes from the live section (json_script), which htmx replaces every few seconds;
   the map stays and its layers are redrawn. */
(function () {
  "use strict";
  var el = document.getElementById("incident-map");
  if (!el || !window.L) { return; }
  var map = L.map(el);
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
  }
  map.setView([41.1, 122.95], 13);
  if (window.wanggeSurroundings) { window.wanggeSurroundings(map); }
  var group = L.featureGroup().addTo(map);
  var fitted = false;

  function draw() {
    var node = document.getElementById("incident-map-data");
    if (!node) { return; }
    var data = JSON.parse(node.textContent);
    group.clearLayers();
    var line = data.trail.map(function (p) { return [p.lat, p.lon]; });
    if (line.length) {
      L.polyline(line, { color: "#0b5cad", weight: 3 }).addTo(group);
      data.trail.forEach(function (p) {
        L.circleMarker([p.lat, p.lon], { radius: 3, color: "#0b5cad" }).bindTooltip(p.at).addTo(group);
      });
    }
    data.sightings.forEach(function (s) {
      L.circleMarker([s.lat, s.lon], { radius: 7, color: "#9a5b00", fillOpacity: 0.8 })
        .bindPopup(el.dataset.labelSighting + "：" + s.text.replace(/</g, "&lt;")).addTo(group);
    });
    if (data.last) {
      L.circleMarker([data.last.lat, data.last.lon], { radius: 10, color: "#a61b1b", fillOpacity: 0.9 })
        .bindTooltip(el.dataset.labelLast, { permanent: true }).addTo(group);
    }
    if (!fitted && group.getLayers().length) {
      map.fitBounds(group.getBounds(), { padding: [24, 24], maxZoom: 17 });
      fitted = true;
    }
  }
  draw();
  document.body.addEventListener("htmx:afterSwap", draw);
})();
