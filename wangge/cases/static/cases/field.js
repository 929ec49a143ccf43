// Forms marked data-locate (the field intake, a home visit): fill their hidden longitude and
// latitude from the phone's position (WGS-84), once, if the worker allows it.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-locate]");
  if (!forms.length || !navigator.geolocation) { return; }
  navigator.geolocation.getCurrentPosition(function (position) {
    forms.forEach(function (form) {
      var lon = form.querySelector("input[name=lon]");
      var lat = form.querySelector("input[name=lat]");
      var note = form.querySelector("[data-position]");
      if (!lon || !lat || lat.value) { return; }
      lon.value = position.coords.longitude.toFixed(6);
      lat.value = position.coords.latitude.toFixed(6);
      if (note) { note.textContent = note.dataset.located; }
    });
  }, function () {
    forms.forEach(function (form) {
      var note = form.querySelector("[data-position]");
      if (note) { note.textContent = note.dataset.failed; }
    });
  }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
})();
