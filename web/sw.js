// The service worker: keeps the app shell (the page and every versioned file
// of this hub's UI) so the UI opens without the hub after the first visit.
// The hub writes its UI version where this file says __V__, so a new hub
// means a new worker, a new cache, and the old one deleted.
const VERSION = "__V__";
const CACHE = `collisionos-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const list = await (await fetch("/assets.json", { cache: "no-store" })).json();
      await cache.addAll(["/", ...list.files]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/metrics") return;
  if (url.pathname.startsWith(`/v/${VERSION}/`)) {
    // Versioned: never changes, so the cache answers first.
    event.respondWith(
      (async () => {
        const cache = await caches.open(CACHE);
        const hit = await cache.match(req, { ignoreSearch: true });
        if (hit) return hit;
        const res = await fetch(req);
        if (res.ok) cache.put(req, res.clone());
        return res;
      })(),
    );
    return;
  }
  if (req.mode === "navigate") {
    // The page: the hub's when it answers (and kept), else the kept one.
    event.respondWith(
      (async () => {
        const cache = await caches.open(CACHE);
        try {
          const res = await fetch(req);
          if (res.ok) cache.put("/", res.clone());
          return res;
        } catch {
          return (await cache.match("/")) || Response.error();
        }
      })(),
    );
  }
});
