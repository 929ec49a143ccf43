// The field intake: fill the hidden longitude and latitude from the phone's position (WGS-84),
// once, if the worker allows it; the address field stays for what a position cannot say.
(function () {
  "use strict";
  var form = document.getElementById("field-intake");
  var note = document.getElementById("position");
  if (!form || !note || !navigator.geolocation) { return; }
  var lon = form.querySelector("input[name=lon]");
  var lat = form.querySelector("input[name=lat]");
  if (!lon || !lat || lat.value) { return; }
  navigator.geolocation.getCurrentPosition(function (position) {
    lon.value = position.coords.longitude.toFixed(6);
    lat.value = position.coords.latitude.toFixed(6);
    note.textContent = note.dataset.located;
  }, function () {
    note.textContent = note.dataset.failed;
  }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
})();
