// The hub's app shell: first-run setup, login, and the signed-in home. Talks to
// the JSON API only (see README.md, "The API").
const $ = (id) => document.getElementById(id);

async function api(path, body, token) {
  const res = await fetch(path, {
    method: body ? "POST" : "GET",
    headers: {
      ...(body ? { "content-type": "application/json" } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data?.error?.message || res.statusText);
  return data;
}

function show(id) {
  for (const s of ["setup", "login", "home"]) $(s).hidden = s !== id;
}

function formData(form) {
  return Object.fromEntries(new FormData(form).entries());
}

async function home(session) {
  $("who").textContent = `${session.user.display_name} (${session.user.role})`;
  show("home");
}

async function start() {
  const { needed } = await api("/api/setup");
  if (needed) {
    show("setup");
  } else {
    const saved = sessionStorage.getItem("session");
    if (saved) return home(JSON.parse(saved));
    show("login");
  }
}

$("setup-form")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  $("setup-error").textContent = "";
  try {
    const d = formData(e.target);
    await api("/api/setup", d);
    const session = await api("/api/auth/login", { email: d.email, password: d.password });
    sessionStorage.setItem("session", JSON.stringify(session));
    home(session);
  } catch (err) {
    $("setup-error").textContent = err.message;
  }
});

$("login-form")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  $("login-error").textContent = "";
  try {
    const session = await api("/api/auth/login", formData(e.target));
    sessionStorage.setItem("session", JSON.stringify(session));
    home(session);
  } catch (err) {
    $("login-error").textContent = err.message;
  }
});

start().catch((err) => {
  document.body.insertAdjacentText("beforeend", `The hub did not answer: ${err.message}`);
});
