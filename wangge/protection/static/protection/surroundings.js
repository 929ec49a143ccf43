/* Streets' and communities' outlines, building dots and names from a json_script
   ("map-surroundings"), so a map without base-map tiles still shows where a person is.
   wanggeSurroundings(map) draws them under everything else and returns the layer. */
(function () {
  "use strict";
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  window.wanggeSurroundings = function (map) {
    var node = document.getElementById("map-surroundings");
    var data = node ? JSON.parse(node.textContent) : null;
    if (!data || !data.features.length) { return null; }
    var styles = {
      street: { color: "#7a8694", weight: 3, fill: false, className: "street-shape" },
      community: { color: "#5d6b7a", weight: 2, dashArray: "6 4", fill: false, className: "community-shape" },
      building: { radius: 5, color: "#ffffff", weight: 1.5, fillColor: "#0b5cad", fillOpacity: 0.9, className: "building-dot" }
    };
    var layer = L.geoJSON(data, {
      style: function (f) { return styles[f.properties.kind] || styles.community; },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, styles.building);
      },
      onEachFeature: function (f, l) {
        var building = f.properties.kind === "building";
        l.bindTooltip(esc(f.properties.name), {
          permanent: true,
          direction: building ? "right" : "center",
          className: building ? "map-label building-label" : "map-label area-label"
        });
      }
    }).addTo(map);
    // Building names only close up (a block or two across), where they do not cover each other.
    function labels() {
      var show = map.getZoom() >= 15;
      layer.eachLayer(function (l) {
        if (l.feature.properties.kind === "building") {
          var t = l.getTooltip();
          if (t) { t.setOpacity(show ? 0.9 : 0); }
        }
      });
    }
    map.on("zoomend", labels);
    labels();
    return layer;
  };
})();
