// kanjiedge drawing page: service worker. After the first visit every file of the page is answered from its
// cache, so repeat visits load without the network and the page works offline. kanjiedge.webpage writes VERSION
// (a hash of the page's files) and ASSETS into this file: a rebuilt page is a changed sw.js, which the browser
// installs as a new worker with a new cache; the old cache is deleted when it takes over.

const VERSION = "__VERSION__";
const ASSETS = __ASSETS__;
const CACHE = `kanjiedge-${VERSION}`;

self.addEventListener("install", (event) => {
  // Registered only after the page is ready, so these requests revalidate files the browser already has (304).
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key.startsWith("kanjiedge-") && key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  if (event.request.method !== "GET") return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(event.request, { ignoreSearch: true });
    return hit ?? fetch(event.request);
  })());
});
