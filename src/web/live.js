// escucha's inbox: new mentions appear in the open list without a reload.
// Every 15 s it asks /live (same filters) whether the list changed; if so,
// or once a minute to move the SLA clocks, it fetches this page again and
// swaps #list, keeping ticked boxes and marking rows it had not shown.
// Nothing here is needed: without JavaScript the page works by reloading.
(function () {
  "use strict";
  var list = document.getElementById("list");
  var note = document.getElementById("live");
  if (!list || !window.fetch || !window.DOMParser) return;
  var ticks = 0;
  var busy = false;

  function ids(selector) {
    var out = {};
    list.querySelectorAll(selector).forEach(function (c) { out[c.value] = true; });
    return out;
  }

  function refresh() {
    return fetch(location.href, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("list");
      if (!fresh) return;
      var checked = ids("input[name=id]:checked");
      var shown = ids("input[name=id]");
      list.innerHTML = fresh.innerHTML;
      list.setAttribute("data-sig", fresh.getAttribute("data-sig"));
      var added = 0;
      list.querySelectorAll("input[name=id]").forEach(function (c) {
        if (checked[c.value]) c.checked = true;
        if (!shown[c.value]) {
          added++;
          var row = c.closest("tr");
          if (row) row.className = "fresh";
        }
      });
      if (added && note) {
        note.textContent = note.getAttribute("data-text").replace("{n}", added);
      }
    });
  }

  function tick() {
    ticks++;
    if (busy || document.hidden) return;
    // Someone typing in the list (none today) is not interrupted.
    if (list.contains(document.activeElement) && document.activeElement.tagName !== "A") return;
    busy = true;
    fetch(list.getAttribute("data-live"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (j) {
        if (j.sig !== list.getAttribute("data-sig") || ticks % 4 === 0) return refresh();
      })
      .catch(function () { /* offline or logged out: the next tick tries again */ })
      .then(function () { busy = false; });
  }

  setInterval(tick, 15000);
})();
