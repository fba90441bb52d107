/* publisher embed, version 1: <script src=".../embed/v1.js" defer></script> and
   <div data-publisher="category:SLUG"> (or "all", or "meetings") show that list.
   No cookies, no tracking, no dependencies. Data from the service is only ever set as
   text, never as HTML. Themable with --publisher-* custom properties (see the README). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var base = new URL(".", script.src).href.replace(/\/embed\/$/, "");
  var CSS =
    ":host{display:block;color:var(--publisher-text,inherit);background:var(--publisher-background,transparent);" +
    "font:var(--publisher-font,inherit);line-height:1.5}" +
    "ul{list-style:none;margin:0;padding:0}" +
    "li{padding:var(--publisher-gap,.6em) 0;border-top:1px solid var(--publisher-border,rgba(127,127,127,.4))}" +
    "li:first-child{border-top:0}" +
    "a{color:var(--publisher-link,inherit)}" +
    "a:focus-visible{outline:3px solid var(--publisher-focus,currentColor);outline-offset:2px}" +
    ".name{font-weight:700;margin:0}.note{margin:.2em 0 0}" +
    ".more{margin:.6em 0 0}" +
    ":host([data-publisher-compact]) .note{display:none}";

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function link(href, text, cls) {
    var a = el("a", text, cls);
    try {
      var url = new URL(href, base);
      if (url.protocol === "https:" || url.protocol === "http:") a.href = url.href;
    } catch (e) { /* no link for a value that is not a web address */ }
    return a;
  }

  function compact(host) {
    var value = getComputedStyle(host).getPropertyValue("--publisher-entries").trim();
    if (value === "compact") host.setAttribute("data-publisher-compact", "");
  }

  function groups(doc, list) {
    var items = (doc.items || []).slice().sort(function (a, b) {
      var pa = (a._publisher || {}).position, pb = (b._publisher || {}).position;
      return (pa === undefined ? 1e9 : pa) - (pb === undefined ? 1e9 : pb);
    });
    items.forEach(function (item) {
      var li = el("li");
      li.appendChild(link(item.url, item.title || "", "name"));
      if (item.summary) li.appendChild(el("p", item.summary, "note"));
      list.appendChild(li);
    });
    return items.length;
  }

  function meetings(doc, list) {
    (doc.meetings || []).forEach(function (m) {
      var li = el("li");
      li.appendChild(el("p", m.when || "", "name"));
      var p = el("p", "", "note");
      p.appendChild(link(m.url, m.group || ""));
      if (m.title) p.appendChild(document.createTextNode(": " + m.title));
      if (m.cancelled) p.appendChild(document.createTextNode(" (cancelled)"));
      li.appendChild(p);
      list.appendChild(li);
    });
    return (doc.meetings || []).length;
  }

  function show(host) {
    var what = host.getAttribute("data-publisher") || "";
    var source, page, label, render = groups;
    if (what === "all") {
      source = "/feeds/all.json"; page = "/"; label = "all groups";
    } else if (what === "meetings") {
      source = "/embed/meetings.json"; page = "/"; label = "the next meetings"; render = meetings;
    } else if (/^category:[a-z0-9]+(-[a-z0-9]+)*$/.test(what)) {
      var slug = what.slice(9);
      source = "/feeds/" + slug + ".json"; page = "/categories/" + slug + "/"; label = "these groups";
    } else {
      return;
    }
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = el("style", CSS);
    var list = el("ul");
    root.appendChild(style);
    compact(host);
    fetch(base + source, { cache: "no-cache", credentials: "omit", referrerPolicy: "no-referrer" })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (doc) {
        var count = render(doc, list);
        if (count) root.appendChild(list);
        else root.appendChild(el("p", "Nothing to show here at the moment."));
        var more = el("p", "", "more");
        more.appendChild(link(doc.home_page_url || base + page, "See " + label + " on " + ((doc._publisher || {}).site || "the directory")));
        root.appendChild(more);
      })
      .catch(function () {
        var p = el("p", "", "more");
        p.appendChild(link(base + page, "See " + label + " in the directory"));
        root.appendChild(p);
      });
  }

  function start() {
    var hosts = document.querySelectorAll("[data-publisher]");
    for (var i = 0; i < hosts.length; i++) {
      if (!hosts[i].hasAttribute("data-publisher-ready")) {
        hosts[i].setAttribute("data-publisher-ready", "");
        show(hosts[i]);
      }
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
