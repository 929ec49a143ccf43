// The report page's "use my location" button: fills latitude and longitude from the phone.
(function () {
  "use strict";
  var button = document.getElementById("use-location");
  if (!button) return;
  var status = document.getElementById("location-status");
  button.addEventListener("click", function () {
    if (!navigator.geolocation) { status.textContent = "✗"; return; }
    status.textContent = "…";
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById("id_lat").value = position.coords.latitude.toFixed(6);
      document.getElementById("id_lon").value = position.coords.longitude.toFixed(6);
      status.textContent = "✓";
    }, function () { status.textContent = "✗"; }, { enableHighAccuracy: true, timeout: 10000 });
  });
})();
