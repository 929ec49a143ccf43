// Small behaviours declared in the markup, so that templates need no inline script (the
// Content-Security-Policy allows scripts from our static files only):
//   data-confirm="question" on a form or its submit button asks before submitting;
//   data-autosubmit on a select submits its form when the choice changes.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.dataset.confirm) || form.dataset.confirm;
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) {
      field.form.submit();
    }
  });
})();
