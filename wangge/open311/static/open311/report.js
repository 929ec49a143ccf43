// The report page: a pin on a map (tap to place, drag to move) and the "use my location" button
// both fill latitude and longitude. Without WANGGE_TILE_URL the map shows the grids' outlines.
(function () {
  "use strict";
  var lat = document.getElementById("id_lat");
  var lon = document.getElementById("id_lon");
  if (!lat || !lon) return;
  var status = document.getElementById("location-status");
  var el = document.getElementById("report-map");
  var map = null, pin = null;

  function fill(latlng) {
    lat.value = latlng.lat.toFixed(6);
    lon.value = latlng.lng.toFixed(6);
  }
  function place(latlng, zoomTo) {
    if (!map) return;
    if (pin) { pin.setLatLng(latlng); }
    else {
      pin = L.marker(latlng, { draggable: true, autoPan: true }).addTo(map);
      pin.on("dragend", function () { fill(pin.getLatLng()); });
    }
    if (zoomTo) map.setView(latlng, Math.max(map.getZoom(), 15));
  }

  if (el && window.L) {
    map = L.map(el, { zoomSnap: 0.5 });
    var d = el.dataset;
    if (d.tileUrl) {
      L.tileLayer(d.tileUrl, { attribution: d.tileAttribution || "", maxZoom: 19 }).addTo(map);
    }
    map.setView([41.1, 122.95], 12);
    var had = parseFloat(lat.value), hadLon = parseFloat(lon.value);
    if (isFinite(had) && isFinite(hadLon)) place(L.latLng(had, hadLon), true);
    if (d.outlines) {
      fetch(d.outlines).then(function (r) { return r.json(); }).then(function (data) {
        L.geoJSON(data, {
          interactive: false,
          style: function () { return { color: "#b8282e", weight: 1.5, fillOpacity: 0.04 }; },
          onEachFeature: function (f, layer) {
            layer.bindTooltip(String(f.properties.name), { permanent: false, className: "map-label" });
          }
        }).addTo(map);
        if (data.extent && !pin) {
          var e = data.extent;  // west, south, east, north
          map.fitBounds([[e[1], e[0]], [e[3], e[2]]]);
        }
      }).catch(function () { /* the map without outlines still takes a pin */ });
    }
    map.on("click", function (event) { place(event.latlng, false); fill(event.latlng); });
  }

  var button = document.getElementById("use-location");
  if (!button) return;
  button.addEventListener("click", function () {
    if (!navigator.geolocation) { status.textContent = "✗"; return; }
    status.textContent = "…";
    navigator.geolocation.getCurrentPosition(function (position) {
      var here = { lat: position.coords.latitude, lng: position.coords.longitude };
      fill(here);
      if (window.L) place(L.latLng(here.lat, here.lng), true);
      status.textContent = "✓";
    }, function () { status.textContent = "✗"; }, { enableHighAccuracy: true, timeout: 10000 });
  });
})();
