/* The phone apps' service worker (inspector_app/views.py): keeps the shells and their assets, so the apps open with no
   network; the day's data lives in the apps' IndexedDB. A new version waits until the app says it is between visits. */
"use strict";
const VERSION = "{{ version }}";
const CACHE = "sj-app-" + VERSION;
const SHELLS = {{ shells|safe }};
const ASSETS = {{ assets|safe }};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([...SHELLS, ...ASSETS])));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("sj-app-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "SKIP_WAITING") self.skipWaiting();
  if (event.data && event.data.type === "VERSION" && event.ports[0]) event.ports[0].postMessage(VERSION);
});

function shellFor(url) {
  return SHELLS.find((s) => url.pathname === s || url.pathname.startsWith(s)) || null;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return; // the apps keep their data in IndexedDB, never in this cache
  const shell = request.mode === "navigate" ? shellFor(url) : null;
  if (shell) {
    // The shell from this version's cache (it holds no personal data): the page and the assets it names stay one
    // release until the app takes the next one, between visits.
    event.respondWith(caches.open(CACHE).then((cache) => cache.match(shell).then((hit) => hit || fetch(request))));
    return;
  }
  if (ASSETS.includes(url.pathname)) {
    event.respondWith(caches.open(CACHE).then((cache) => cache.match(url.pathname).then((hit) => hit || fetch(request))));
  }
});
