/* Division preview: today's grids dashed, the proposal filled (new grids in green). */
(function () {
  "use strict";
  var el = document.getElementById("division-map");
  if (!el || !window.L) { return; }
  var map = L.map(el, { zoomSnap: 0.25 });
  if (el.dataset.tileUrl) { L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map); }
  var current = JSON.parse(document.getElementById("current-grids").textContent);
  var proposed = JSON.parse(document.getElementById("proposed-grids").textContent);
  var label = el.dataset.labelHouseholds || "";
  var proposedLayer = L.geoJSON(proposed, {
    style: function (f) {
      var colour = f.properties["new"] ? "#0b7a3e" : "#b8282e";
      return { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.15, className: "proposed-grid" };
    },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(String(f.properties.households) + " " + label, { permanent: false });
    }
  }).addTo(map);
  var currentLayer = L.geoJSON(current, {
    style: function () { return { color: "#5d6b7a", weight: 2, dashArray: "6 4", fill: false, className: "current-grid" }; }
  }).addTo(map);
  var bounds = proposedLayer.getBounds();
  if (currentLayer.getLayers().length) { bounds.extend(currentLayer.getBounds()); }
  if (bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); } else { map.setView([41.1, 122.95], 12); }
  el.dataset.loaded = "true";
})();
