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

// The navigation's one row (issue 16): tabs the row has no room for are clipped by the CSS;
// here they leave the tab order, the More menu lists just them (all sections without this
// script), and the button keeps aria-expanded. Escape or a tap elsewhere closes the menu.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var nav = document.querySelector("nav.mainnav");
  if (!nav) { return; }
  var row = nav.querySelector(".navrow");
  var more = nav.querySelector(".navmore");
  var button = more && more.querySelector(".navmore-toggle");
  var menu = more && more.querySelector(".navmore-menu");
  if (!row || !button || !menu) { return; }
  var tabs = Array.prototype.slice.call(row.querySelectorAll("a"));
  var entries = Array.prototype.slice.call(menu.querySelectorAll("li"));

  function setOpen(open) {
    more.classList.toggle("open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function layout() {
    var top = tabs.length ? tabs[0].offsetTop : 0;
    var hiddenActive = false;
    var hiddenBadge = false;
    var overflow = 0;
    more.classList.remove("fits");
    tabs.forEach(function (tab, index) {
      var clipped = tab.offsetTop > top;
      if (clipped) {
        tab.setAttribute("tabindex", "-1");
        tab.setAttribute("aria-hidden", "true");
        overflow += 1;
        if (tab.classList.contains("active")) { hiddenActive = true; }
        if (tab.querySelector(".navbadge")) { hiddenBadge = true; }
      } else {
        tab.removeAttribute("tabindex");
        tab.removeAttribute("aria-hidden");
      }
      if (entries[index]) { entries[index].hidden = !clipped; }
    });
    button.classList.toggle("active", hiddenActive);
    button.classList.toggle("badged", hiddenBadge); // an open alert behind the menu still shows
    if (!overflow) {
      setOpen(false);
      more.classList.add("fits");
    }
  }

  button.addEventListener("click", function () {
    setOpen(button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && more.classList.contains("open")) {
      setOpen(false);
      button.focus();
    }
  });
  document.addEventListener("click", function (event) {
    if (more.classList.contains("open") && !more.contains(event.target)) { setOpen(false); }
  });
  more.addEventListener("focusout", function (event) {
    if (event.relatedTarget && !more.contains(event.relatedTarget)) { setOpen(false); }
  });
  layout();
  window.addEventListener("resize", layout);
})();
