// The permission map's behaviour: the detail of a cell, and the filters. Every policy text
// reaches the page through textContent, never as markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("permmap-data").textContent);
  var grid = document.getElementById("grid");
  var dialog = document.getElementById("detail");
  var dTitle = document.getElementById("d-title");
  var dBody = document.getElementById("d-body");
  var fText = document.getElementById("f-text");
  var fFamily = document.getElementById("f-family");
  var fStatus = document.getElementById("f-status");
  var fCount = document.getElementById("f-count");
  var noMatch = document.getElementById("no-match");
  var scroller = document.querySelector(".scroll");
  var labels = { "allowed": "Allowed", "conditional": "Conditional", "denied": "Denied (nothing allows it)", "explicit-deny": "Explicitly denied" };
  var symbols = { "allowed": "\u2713", "conditional": "\u25D0", "denied": "\u00B7", "explicit-deny": "\u2715" };
  var lastButton = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function text(s) { return document.createTextNode(s); }
  function pretty(json) {
    try { return JSON.stringify(JSON.parse(json), null, 2); } catch (e) { return json; }
  }
  function statusLine(status) {
    var d = el("div", "status");
    var s = el("span", "sym s-" + status, symbols[status]);
    s.setAttribute("aria-hidden", "true");
    d.appendChild(s);
    d.appendChild(el("span", null, labels[status]));
    return d;
  }

  function statementItem(st) {
    var li = el("li", "stmt effect-" + st.effect);
    var head = el("div");
    head.appendChild(el("code", "where", st.file + ":" + st.line + ":" + st.column));
    head.appendChild(text(" \u00B7 statement " + st.index));
    if (st.sid) {
      head.appendChild(text(" \u00B7 Sid "));
      head.appendChild(el("code", "sid", st.sid));
    }
    head.appendChild(text(" \u00B7 " + st.effect + " \u00B7 attached to " + st.scope));
    li.appendChild(head);
    if (st.policy !== st.file) { li.appendChild(el("div", "muted", "document " + st.policy)); }
    if (st.resource && st.resource.length) { li.appendChild(el("div", "muted", "Resource: " + st.resource.join(", "))); }
    if (st.condition) {
      li.appendChild(el("div", "muted", "Condition:"));
      li.appendChild(el("pre", "condition", pretty(st.condition)));
    }
    return li;
  }

  function actionsList(row, actions) {
    var ul = el("ul", "actions");
    actions.forEach(function (a) {
      var li = el("li");
      li.appendChild(el("code", null, a.action));
      li.appendChild(text(": " + labels[a.status]));
      if (a.context_keys && a.context_keys.length) { li.appendChild(text(" (depends on " + a.context_keys.join(", ") + ")")); }
      if (a.statements.length) {
        var sl = el("ul");
        a.statements.forEach(function (i) { sl.appendChild(statementItem(row.statements[i])); });
        li.appendChild(sl);
      } else if (a.status === "denied") {
        li.appendChild(el("div", "muted", "no statement allows it" + (a.skipped && a.skipped.length ? "; " + a.skipped.join("; ") : "")));
      }
      ul.appendChild(li);
    });
    return ul;
  }

  function openCell(r, c) {
    var row = data.rows[r], cell = row.cells[c], api = data.apis[c];
    dTitle.textContent = row.name + " \u00B7 " + api.section + " " + api.method + " " + api.path;
    dBody.textContent = "";
    dBody.appendChild(el("p", "muted", api.title + (api.deprecated ? " (deprecated)" : "") + " \u00B7 " + api.id + " \u00B7 " + row.kind + " " + row.name));
    dBody.appendChild(statusLine(cell.status));
    dBody.appendChild(el("p", "reason", cell.reason));
    dBody.appendChild(el("h3", null, "Deciding statements"));
    if (cell.statements.length) {
      var ul = el("ul", "deciding");
      cell.statements.forEach(function (i) { ul.appendChild(statementItem(row.statements[i])); });
      dBody.appendChild(ul);
    } else {
      dBody.appendChild(el("p", "muted", cell.status === "allowed" ? "No IAM action is required." : "None: no statement allows it."));
    }
    if (cell.variants.length > 1) {
      cell.variants.forEach(function (v) {
        dBody.appendChild(el("h3", null, "When " + v.when + ": " + labels[v.status]));
        dBody.appendChild(actionsList(row, v.actions));
      });
    } else if (cell.variants.length === 1 && cell.variants[0].actions.length) {
      dBody.appendChild(el("h3", null, "Actions"));
      dBody.appendChild(actionsList(row, cell.variants[0].actions));
    }
    if (row.notes && row.notes.length) {
      dBody.appendChild(el("h3", null, "Notes"));
      var nl = el("ul");
      row.notes.forEach(function (n) { nl.appendChild(el("li", null, n)); });
      dBody.appendChild(nl);
    }
    dialog.showModal();
  }

  grid.addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-r]");
    if (!b) { return; }
    lastButton = b;
    openCell(Number(b.getAttribute("data-r")), Number(b.getAttribute("data-c")));
  });
  dialog.addEventListener("close", function () { if (lastButton) { lastButton.focus(); } });

  // What the text filter looks in: an API's column, a row's name, a cell's actions and
  // deciding statements.
  function lower(parts) { return parts.join("\n").toLowerCase(); }
  var apiText = data.apis.map(function (a) { return lower([a.id, a.section, a.title, a.method, a.path, a.method + " " + a.path]); });
  var rowText = data.rows.map(function (r) { return lower([r.name, r.kind].concat(r.identities || [], r.policies)); });
  var cellText = data.rows.map(function (r) {
    return r.cells.map(function (c) {
      var parts = [c.reason];
      c.variants.forEach(function (v) { v.actions.forEach(function (a) { parts.push(a.action); }); });
      c.statements.forEach(function (i) { var s = r.statements[i]; parts.push(s.sid, s.file, s.condition || ""); });
      return lower(parts);
    });
  });
  var tbodyRows = grid.tBodies[0].rows;
  var apiHeads = grid.tHead.rows[2].cells;
  var famHeads = grid.tHead.rows[0].querySelectorAll("th.fam");
  var secHeads = grid.tHead.rows[1].cells;

  function apply() {
    var q = fText.value.trim().toLowerCase(), fam = fFamily.value, st = fStatus.value;
    var nR = data.rows.length, nC = data.apis.length, r, c;
    var colHit = [], rowHit = [], anyCol = false, anyRow = false;
    for (c = 0; c < nC; c++) { colHit[c] = !q || apiText[c].indexOf(q) >= 0; anyCol = anyCol || (q && colHit[c]); }
    for (r = 0; r < nR; r++) { rowHit[r] = !q || rowText[r].indexOf(q) >= 0; anyRow = anyRow || (q && rowHit[r]); }
    var byCell = q && !anyCol && !anyRow;
    var colShow = [], rowShow = [], match = [];
    for (r = 0; r < nR; r++) {
      match[r] = [];
      for (c = 0; c < nC; c++) {
        var ok = !fam || data.apis[c].family === fam;
        if (q) {
          ok = ok && (byCell ? cellText[r][c].indexOf(q) >= 0 : (!anyCol || colHit[c]) && (!anyRow || rowHit[r]));
        }
        ok = ok && (!st || data.rows[r].cells[c].status === st);
        match[r][c] = ok;
        if (ok) { colShow[c] = true; rowShow[r] = true; }
      }
    }
    var shownC = 0, shownR = 0;
    for (c = 0; c < nC; c++) { apiHeads[c].classList.toggle("hidden", !colShow[c]); if (colShow[c]) { shownC++; } }
    for (r = 0; r < nR; r++) {
      var tr = tbodyRows[r];
      tr.classList.toggle("hidden", !rowShow[r]);
      if (rowShow[r]) { shownR++; }
      for (c = 0; c < nC; c++) {
        var td = tr.cells[c + 1];
        td.classList.toggle("hidden", !colShow[c]);
        td.classList.toggle("dim", !!colShow[c] && !match[r][c]);
      }
    }
    // Group headers span what is left of their columns.
    var spans = function (ids) { var n = 0; for (c = 0; c < nC; c++) { if (colShow[c] && ids(data.apis[c])) { n++; } } return n; };
    Array.prototype.forEach.call(famHeads, function (th) {
      var id = th.getAttribute("data-family");
      var n = spans(function (a) { return a.family === id; });
      th.classList.toggle("hidden", n === 0);
      if (n) { th.colSpan = n; }
    });
    Array.prototype.forEach.call(secHeads, function (th) {
      var id = th.getAttribute("data-section"), f = th.getAttribute("data-family");
      var n = spans(function (a) { return a.family === f && (a.section === id || a.section.indexOf(id + ".") === 0); });
      th.classList.toggle("hidden", n === 0);
      if (n) { th.colSpan = n; }
    });
    var none = shownR === 0 || shownC === 0;
    noMatch.hidden = !none;
    scroller.classList.toggle("hidden", none);
    fCount.textContent = none ? "nothing shown" :
      shownR + " of " + nR + " rows \u00D7 " + shownC + " of " + nC + " APIs shown";
  }
  fText.addEventListener("input", apply);
  fFamily.addEventListener("change", apply);
  fStatus.addEventListener("change", apply);
  document.getElementById("filters").addEventListener("submit", function (ev) { ev.preventDefault(); });
  document.getElementById("f-reset").addEventListener("click", function () {
    fText.value = ""; fFamily.value = ""; fStatus.value = ""; apply();
  });
  apply();
}());
