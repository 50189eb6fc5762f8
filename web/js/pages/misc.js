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
