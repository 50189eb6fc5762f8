// First-run setup (with the one-time code the hub prints on its console) and login.
import { h, page, ready, formValues } from "../dom.js";
import { post, ApiError } from "../api.js";
import { setSession } from "../session.js";
import { navigate } from "../router.js";

function field(label, attrs, hint) {
  return h("label", label, h("input", attrs), hint ? h("small.hint", hint) : null);
}

async function finishLogin(creds) {
  const s = await post("/api/auth/login", creds);
  setSession(s);
  const { signedIn } = await import("../main.js");
  await signedIn();
  navigate("/board", { replace: true });
}

function errorText(err) {
  if (err instanceof ApiError && err.field) return `${err.field}: ${err.message}`;
  return err.message;
}

export function renderSetup() {
  const error = h("p.error#setup-error", { role: "alert" });
  const form = h(
    "form.card-form#setup-form",
    { novalidate: true },
    field("Setup code (printed on the hub's console)", {
      name: "code",
      autocomplete: "one-time-code",
      required: true,
    }),
    field("Shop name", { name: "shop_name", required: true }),
    field("Your name", { name: "owner_name", required: true, autocomplete: "name" }),
    field("E-mail", { name: "email", type: "email", autocomplete: "username", required: true }),
    field(
      "Password",
      { name: "password", type: "password", autocomplete: "new-password", required: true },
      "At least 8 characters; a short sentence is easy to remember.",
    ),
    h("button", { type: "submit" }, "Create the shop"),
    error,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const d = formValues(form);
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      await post("/api/setup", d);
      (await import("../main.js")).setupDone();
      await finishLogin({ email: d.email, password: d.password });
    } catch (err) {
      error.textContent = errorText(err);
    } finally {
      button.disabled = false;
    }
  });
  page(
    "setup",
    h(
      "section.narrow",
      h("h1", "Set up this hub"),
      h(
        "p",
        "Enter the one-time setup code the hub printed on its console when it started, then create your shop and its owner account.",
      ),
      form,
    ),
  );
  ready("setup");
}

export function renderLogin() {
  const error = h("p.error#login-error", { role: "alert" });
  const form = h(
    "form.card-form#login-form",
    { novalidate: true },
    field("E-mail", { name: "email", type: "email", autocomplete: "username", required: true }),
    field("Password", {
      name: "password",
      type: "password",
      autocomplete: "current-password",
      required: true,
    }),
    h("button", { type: "submit" }, "Log in"),
    error,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const values = formValues(form);
    const missing = !values.email?.trim() ? ["email", "Type your e-mail address."] : !values.password ? ["password", "Type your password."] : null;
    if (missing) {
      error.textContent = missing[1];
      form.elements[missing[0]].focus();
      return;
    }
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      await finishLogin(values);
    } catch (err) {
      error.textContent = errorText(err);
    } finally {
      button.disabled = false;
    }
  });
  page("login", h("section.narrow", h("h1", "Log in"), form));
  ready("login");
}
