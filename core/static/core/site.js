/* Live notifications for signed-in pages (templates/base.html sets data-live on <body>).
 *
 * Connects to /ws/notifications/ on this origin (the session cookie signs the socket in; see
 * mobile_api/consumers.py), raises the unread count in the header and, on the inbox page, puts each new entry on
 * top of the list. A convenience only: every page works without it and without JavaScript (the inbox is the truth).
 * Built with DOM calls (textContent), never innerHTML: a title is shown as text, whatever it holds.
 */
/* A home card whose count is kept on the phone (the inspector app's outbox: inspector_app/static/.../outbox.js
 * writes it to localStorage["sj-pending"]) shows it here; without it the card keeps its "–". */
(function () {
  "use strict";
  var cards = document.querySelectorAll('[data-client-count="inspection-outbox"] .card-count');
  if (!cards.length) return;
  var n = null;
  try { n = window.localStorage.getItem("sj-pending"); } catch (e) { return; }
  if (n === null || !/^\d+$/.test(n)) return;
  for (var i = 0; i < cards.length; i++) {
    cards[i].textContent = n;
    var card = cards[i].closest(".card");
    if (card) card.classList.toggle("card-waiting", n !== "0");
  }
})();

(function () {
  "use strict";
  var body = document.body;
  if (!body || !body.dataset.live || !("WebSocket" in window)) return;

  var inboxUrl = body.dataset.live; // "/notifications/"
  var delay = 1000;
  var socket = null;
  var seen = {};

  function setCount(n) {
    var nodes = document.querySelectorAll("[data-unread-count]");
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = String(n);
      nodes[i].hidden = n <= 0;
    }
    var bell = document.querySelector(".bell");
    if (bell) bell.classList.toggle("has-unread", n > 0);
    body.dataset.unread = String(n);
  }

  function currentCount() {
    var node = document.querySelector("[data-unread-count]");
    var n = node ? parseInt(node.textContent, 10) : 0;
    return isNaN(n) ? 0 : n;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function formatTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return iso || "";
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" +
      pad(d.getMinutes());
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  function prepend(event) {
    var list = document.getElementById("notification-list");
    if (!list || document.getElementById("n" + event.id)) return;
    // Only the first page shows the newest entries.
    if (/[?&]page=(?!1\b)/.test(window.location.search)) return;
    var payload = event.payload || {};
    var item = el("li", "inbox-item unread fresh");
    item.id = "n" + event.id;
    item.dataset.id = String(event.id);
    item.setAttribute("data-testid", "notification");
    var link = el("a", "inbox-link");
    link.href = inboxUrl + encodeURIComponent(event.id) + "/open";
    var dot = el("span", "dot");
    dot.setAttribute("aria-hidden", "true");
    link.appendChild(dot);
    link.appendChild(el("span", "inbox-title", payload.title || ""));
    if (payload.body) link.appendChild(el("span", "inbox-body", payload.body));
    var time = el("time", "muted", formatTime(event.at));
    if (event.at) time.setAttribute("datetime", event.at);
    link.appendChild(time);
    item.appendChild(link);
    var empty = list.querySelector("[data-empty]");
    if (empty) empty.remove();
    list.insertBefore(item, list.firstChild);
  }

  function onEvent(event) {
    if (!event || typeof event.id !== "number" || seen[event.id]) return;
    seen[event.id] = true;
    setCount(currentCount() + 1);
    prepend(event);
    document.dispatchEvent(new CustomEvent("sj:notification", { detail: event }));
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    try {
      socket = new WebSocket(scheme + "//" + window.location.host + "/ws/notifications/");
    } catch (e) {
      return;
    }
    socket.onopen = function () {
      delay = 1000;
      body.dataset.liveState = "open";
    };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      if (data && data.type !== "pong") onEvent(data);
    };
    socket.onclose = function (close) {
      body.dataset.liveState = "closed";
      if (close.code === 4401 || close.code === 4403) return; // signed out: the page's links still work
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 60000);
    };
  }

  connect();
})();

/* The phone's "更多" panel (a <details>, which works without script) closes on a tap outside it or on Escape. */
(function () {
  "use strict";
  function closeMore(except) {
    var open = document.querySelectorAll(".tab-bar details[open]");
    for (var i = 0; i < open.length; i++) if (open[i] !== except) open[i].removeAttribute("open");
  }
  document.addEventListener("click", function (event) {
    var inside = event.target.closest && event.target.closest(".tab-bar details");
    closeMore(inside);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMore(null);
  });
})();
