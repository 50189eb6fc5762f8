// "/" (goes to the board or the login page) and a page for unknown paths.
import { h, page, ready } from "../dom.js";

export function render() {
  page("home", h("h1", "CollisionOS Hub"), h("p", h("a", { href: "/board" }, "Open the production board")));
  ready("home");
}

export function notFound() {
  page(
    "not-found",
    h("h1", "No such page"),
    h("p", "This address is not a page of the hub. ", h("a", { href: "/board" }, "Go to the board")),
  );
  ready("not-found");
}

/** A page that could not be drawn: why, and a way to try again. */
export function failed(err) {
  const again = h("button", { type: "button" }, "Try again");
  again.addEventListener("click", () => import("../router.js").then((r) => r.render()));
  page(
    "error",
    h("h1", "This page could not be shown"),
    h("p.error", err?.offline ? "The hub cannot be reached. Check that the shop's PC is on and on the network." : err?.message || String(err)),
    again,
  );
  ready("error");
}
