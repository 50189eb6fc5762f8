// Settings → Devices (owner, admin): every browser that opened the bay tablet
// or a live board is paired with the hub (GET /api/devices). Revoking one (a
// lost or stolen tablet) closes its connection at once and refuses it from
// then on (POST /api/devices/{id}/revoke); the person's login is not ended.
import { h, page, ready, when, toast } from "../dom.js";
import { get, post } from "../api.js";
import { mayManageDevices } from "../session.js";
import { records, label } from "../labels.js";
import { deviceId } from "../live.js";

export async function render() {
  const body = h("tbody");
  const err = h("p.error#devices-error", { role: "alert" });
  page(
    "devices",
    h("h1", "Devices"),
    h(
      "p.hint",
      "Each browser that opened the bay tablet or the live board is listed here. Revoke a tablet that is lost or stolen: it is disconnected at once and cannot connect again. This does not log the person out everywhere; change their password for that.",
    ),
    err,
    h(
      "section.panel",
      h("table#devices", h("thead", h("tr", ["Device", "Last used by", "First seen", "Last seen", "Status", "Action"].map((t) => h("th", { scope: "col" }, t)))), body),
    ),
  );
  if (!mayManageDevices()) {
    err.textContent = "Only an owner or an admin manages devices.";
    ready("devices");
    return;
  }
  const users = new Map((await records("users").catch(() => [])).map((u) => [u.id, label("users", u)]));
  const mine = deviceId();

  async function draw() {
    const { data } = await get("/api/devices");
    body.replaceChildren(
      ...data.map((d) => {
        const revoke = d.revoked_at
          ? null
          : h("button.secondary", { type: "button", dataset: { revoke: d.id } }, "Revoke");
        revoke?.addEventListener("click", async () => {
          const also = d.id === mine ? " This is the browser you are using now." : "";
          if (!confirm(`Revoke device ${d.id}? It is disconnected at once and cannot connect again.${also}`)) return;
          revoke.disabled = true;
          try {
            await post(`/api/devices/${encodeURIComponent(d.id)}/revoke`);
            toast("Device revoked.");
            await draw();
          } catch (e) {
            err.textContent = e.message;
            revoke.disabled = false;
          }
        });
        return h(
          "tr",
          { dataset: { device: d.id, revoked: d.revoked_at ? "1" : "0" } },
          h("td", h("code", d.id), d.id === mine ? h("small.hint", " (this browser)") : null),
          h("td", users.get(d.user_id) || d.user_id),
          h("td", when(d.first_seen)),
          h("td", when(d.last_seen)),
          h("td", d.revoked_at ? `Revoked ${when(d.revoked_at)}` : "Paired"),
          h("td", revoke),
        );
      }),
    );
    if (!data.length) body.replaceChildren(h("tr", h("td", { colSpan: 6 }, "No device has connected yet.")));
  }
  try {
    await draw();
  } catch (e) {
    err.textContent = e.message;
  }
  ready("devices");
}
