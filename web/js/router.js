// Client-side routes on real paths (the hub serves the app's page for any
// path without an extension). Links with data-link or a same-origin href
// navigate without a reload.

const routes = [];
let cleanup = null;
let onNavigate = () => {};

/** route("/records/:table/:id", loader): loader() resolves to a module with render(params). */
export function route(pattern, loader) {
  const keys = [];
  const re = new RegExp(
    "^" + pattern.replace(/:(\w+)/g, (_, k) => (keys.push(k), "([^/]+)")) + "/?$",
  );
  routes.push({ re, keys, loader });
}

export function setOnNavigate(fn) {
  onNavigate = fn;
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  return render();
}

export async function render() {
  const path = location.pathname;
  if (typeof cleanup === "function") {
    try {
      cleanup();
    } catch {}
  }
  cleanup = null;
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])]));
    params.query = new URLSearchParams(location.search);
    const verdict = onNavigate(path);
    if (verdict) return navigate(verdict, { replace: true });
    try {
      const mod = await r.loader();
      cleanup = await mod.render(params);
    } catch (err) {
      const { failed } = await import("./pages/misc.js");
      failed(err);
    }
    return;
  }
  const verdict = onNavigate(path);
  if (verdict) return navigate(verdict, { replace: true });
  const { notFound } = await import("./pages/misc.js");
  notFound();
}

export function start() {
  addEventListener("popstate", render);
  document.addEventListener("click", (e) => {
    const a = e.target.closest("a[href]");
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || a.target || url.pathname.startsWith("/api/")) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
  return render();
}
