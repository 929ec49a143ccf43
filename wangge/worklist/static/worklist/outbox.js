// The worklist's outbox: a visit recorded with the quick button is kept in localStorage and sent
// to the API; offline, it stays there and is sent when the connection returns. Each visit carries
// the client id the page gave it, so a resend after a lost answer is stored once by the server.
(function () {
  "use strict";
  var KEY = "wangge.worklist.outbox";
  var status = document.getElementById("outbox-status");
  var texts = {};
  var template = document.getElementById("outbox-texts");
  if (template) {
    Array.prototype.forEach.call(template.content.querySelectorAll("[data-key]"), function (el) {
      texts[el.getAttribute("data-key")] = el.textContent;
    });
  }
  var sending = false;

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function save(items) { localStorage.setItem(KEY, JSON.stringify(items)); }
  function token() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function mark(household, key) {
    var row = document.getElementById("stop-" + household);
    if (!row) return;
    var button = row.querySelector("button[data-household]");
    if (button) { button.disabled = key !== "failed"; button.textContent = texts[key] || key; }
    row.setAttribute("data-outbox", key);
  }
  function show() {
    var waiting = load().length;
    if (!status) return;
    status.hidden = !waiting;
    status.textContent = waiting ? texts.waiting + " (" + waiting + ")" : "";
  }

  function flush() {
    if (sending) return;
    var items = load();
    if (!items.length) { show(); return; }
    sending = true;
    var item = items[0];
    fetch(item.api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token() },
      body: JSON.stringify(item.visit)
    }).then(function (response) {
      sending = false;
      if (response.status === 401 || response.status === 403 || response.status >= 500) {
        show();  // signed out or the server is unwell: keep it and try again later
        return;
      }
      save(load().filter(function (other) { return other.visit.client_id !== item.visit.client_id; }));
      mark(item.visit.household, response.ok ? "sent" : "failed");
      flush();
    }).catch(function () {
      sending = false;  // offline: the "online" event tries again
      show();
    });
  }

  var form = document.getElementById("quickvisits");
  if (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !button.getAttribute("data-household")) return;
      event.preventDefault();
      var tasks = button.getAttribute("data-tasks");
      var visit = {
        client_id: button.value,
        household: Number(button.getAttribute("data-household")),
        kind: "home",
        tasks: tasks ? tasks.split(",").map(Number) : [],
        visited_at: new Date().toISOString()
      };
      var items = load();
      if (!items.some(function (other) { return other.visit.client_id === visit.client_id; })) {
        items.push({ api: form.getAttribute("data-api"), visit: visit });
        save(items);
      }
      mark(visit.household, "queued");
      show();
      flush();
    });
  }
  load().forEach(function (item) { mark(item.visit.household, "queued"); });
  window.addEventListener("online", flush);
  // Some phones miss the "online" event on a flaky connection: try again now and then too.
  window.setInterval(function () { if (load().length) flush(); }, 5000);
  flush();
})();
