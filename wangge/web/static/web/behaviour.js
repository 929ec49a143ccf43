// Small behaviours declared in the markup, so that templates need no inline script (the
// Content-Security-Policy allows scripts from our static files only). Questions before an
// action that cannot be undone are asked by the server (wangge.core.confirm), not here:
//   data-autosubmit on a select submits its form when the choice changes.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) {
      field.form.submit();
    }
  });
})();
