package snaptest

// inspectorPage is the inspector: plain HTML, inline CSS and a small script
// that polls the JSON feed once a second. No external assets; every text
// from a request is inserted with textContent, never as markup.
const inspectorPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>snaptest inspector</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
header { background: #1d2330; color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; }
header span { color: #b8c0cf; font-size: 13px; }
main { padding: 16px 20px; max-width: 1100px; }
#empty { color: #5b6475; }
.req { background: #fff; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.12); margin: 0 0 14px; padding: 12px 16px; border-left: 6px solid #1f9d55; }
.req.rejected { border-left-color: #c8102e; }
.line { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.seq { color: #5b6475; font-size: 13px; }
.verdict { font-weight: 700; border-radius: 4px; padding: 1px 8px; color: #fff; background: #1f9d55; font-size: 13px; }
.rejected .verdict { background: #c8102e; }
.target { font-family: ui-monospace, Menlo, Consolas, monospace; font-weight: 600; word-break: break-all; }
.answer { font-family: ui-monospace, Menlo, Consolas, monospace; }
.rule { margin: 8px 0 0; padding: 8px 10px; background: #fdecee; border-radius: 6px; color: #7a0019; }
.causes { margin: 6px 0 0; padding: 8px 10px 8px 28px; background: #fff6e0; border-radius: 6px; color: #5c4300; }
.causes li { margin: 2px 0; }
details { margin-top: 8px; }
summary { cursor: pointer; color: #3056d3; }
table { border-collapse: collapse; margin-top: 6px; font-size: 13px; }
td { padding: 2px 12px 2px 0; vertical-align: top; font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
td:first-child { color: #5b6475; white-space: nowrap; }
pre { white-space: pre-wrap; word-break: break-all; background: #f4f5f7; padding: 6px 8px; border-radius: 4px; margin: 4px 0; font-size: 13px; }
.label { font-size: 13px; color: #5b6475; margin-top: 6px; }
</style>
</head>
<body>
<header><h1>snaptest inspector</h1><span id="status">waiting for requests…</span></header>
<main>
<p id="empty">No request yet. Send one to this sandbox; it appears here within a second.</p>
<div id="list"></div>
</main>
<script>
"use strict";
var after = 0, feed = location.pathname.replace(/\/$/, "") + "/requests.json";
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function render(r) {
  var card = el("section", "req " + r.verdict);
  card.id = "req-" + r.seq;
  var line = el("div", "line");
  line.appendChild(el("span", "seq", "#" + r.seq + " " + new Date(r.time).toLocaleTimeString()));
  line.appendChild(el("span", "verdict", r.verdict));
  line.appendChild(el("span", "target", r.method + " " + r.requestUri));
  var ans = "HTTP " + r.status + (r.responseCode ? " " + r.responseCode : "") + (r.responseMessage ? " " + r.responseMessage : "");
  line.appendChild(el("span", "answer", ans));
  card.appendChild(line);
  if (r.rule) card.appendChild(el("p", "rule", "Why: " + r.rule));
  if (r.causes && r.causes.length) {
    card.appendChild(el("div", "label", "Most likely cause:"));
    var ul = el("ul", "causes");
    r.causes.forEach(function (c) { ul.appendChild(el("li", "", c)); });
    card.appendChild(ul);
  }
  if (r.stringToSign) {
    card.appendChild(el("div", "label", "String to sign the provider computed (" + (r.signatureMode || "") + "):"));
    card.appendChild(el("pre", "sts", r.stringToSign));
  }
  var d = el("details");
  d.appendChild(el("summary", "", "headers" + (r.body ? " and body" : "")));
  var t = el("table");
  (r.header || []).forEach(function (h) {
    var tr = el("tr");
    tr.appendChild(el("td", "", h[0]));
    tr.appendChild(el("td", "", h[1]));
    t.appendChild(tr);
  });
  d.appendChild(t);
  if (r.body) { d.appendChild(el("div", "label", "body as received:")); d.appendChild(el("pre", "", r.body)); }
  card.appendChild(d);
  return card;
}
function poll() {
  fetch(feed + "?after=" + after, { cache: "no-store" }).then(function (resp) {
    if (!resp.ok) throw new Error("HTTP " + resp.status);
    return resp.json();
  }).then(function (reqs) {
    var list = document.getElementById("list");
    reqs.forEach(function (r) {
      list.insertBefore(render(r), list.firstChild);
      after = Math.max(after, r.seq);
    });
    if (after > 0) document.getElementById("empty").hidden = true;
    document.getElementById("status").textContent = after + " request" + (after === 1 ? "" : "s") + " · updated " + new Date().toLocaleTimeString();
  }).catch(function (e) {
    document.getElementById("status").textContent = "sandbox unreachable (" + e.message + "); retrying";
  }).then(function () { setTimeout(poll, 1000); });
}
poll();
</script>
</body>
</html>
`
