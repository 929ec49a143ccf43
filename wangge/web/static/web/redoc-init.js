// Starts Redoc from the data attributes of #redoc-container (no inline script: see the CSP).
(function () {
  "use strict";
  var container = document.getElementById("redoc-container");
  Redoc.init(container.dataset.schemaUrl, JSON.parse(container.dataset.settings || "{}"), container);
})();
