//! Screenshots of the setup page, the board, a repair order, tablet mode, the
//! conflicts page and Cloud Sync settings, at 1280×800 and 800×1280, written to
//! `target/screenshots/<page>-<w>x<h>.png` (the window) and `…-full.png` (the
//! whole page, below the fold too) for a person to look at. Each page
//! is also checked for what can be checked mechanically: nothing wider than the
//! window (cut off), no two controls on top of each other, no text under 12 px.

use super::harness::{Browser, Driver};
use super::hub::{secret_env, Hub, OWNER_EMAIL, PASSWORD};
use super::proxy::RecordingProxy;
use serde_json::{json, Value};

const SIZES: [(u32, u32); 2] = [(1280, 800), (800, 1280)];

/// Layout faults of the page as it is now.
async fn layout_faults(b: &Browser) -> Vec<String> {
    let v = b
        .js(r#"
const faults = [];
const root = document.documentElement;
if (root.scrollWidth > window.innerWidth + 1)
  faults.push(`the page is ${root.scrollWidth}px wide in a ${window.innerWidth}px window`);
// Rendered and shown (not inside a closed <details>, hidden or transparent).
const visible = (e) => {
  const r = e.getBoundingClientRect();
  return r.width > 0 && r.height > 0 &&
    e.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true, contentVisibilityAuto: true });
};
const name = (e) => e.outerHTML.slice(0, 90);
const controls = [...document.querySelectorAll('button, input, select, textarea, a[href]')]
  .filter(visible).filter(e => e.type !== 'hidden');
for (let i = 0; i < controls.length; i++) {
  const a = controls[i].getBoundingClientRect();
  for (let j = i + 1; j < controls.length; j++) {
    const e = controls[j];
    if (controls[i].contains(e) || e.contains(controls[i])) continue;
    const b = e.getBoundingClientRect();
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (w > 2 && h > 2) faults.push(`overlap: ${name(controls[i])} and ${name(e)}`);
  }
}
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
let seen = 0;
for (let n = walker.nextNode(); n && seen < 20; n = walker.nextNode()) {
  if (!n.textContent.trim() || !n.parentElement || !visible(n.parentElement)) continue;
  const px = parseFloat(getComputedStyle(n.parentElement).fontSize);
  if (px < 12) { faults.push(`${px}px text: ${n.textContent.trim().slice(0, 40)}`); seen++; }
}
for (const e of document.querySelectorAll('body *')) {
  if (!visible(e) || e.children.length || !e.textContent.trim()) continue;
  const s = getComputedStyle(e);
  if (s.overflow === 'hidden' && s.textOverflow !== 'ellipsis' &&
      (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1))
    faults.push(`cut off: ${name(e)}`);
}
return faults.slice(0, 30);"#)
        .await;
    serde_json::from_value(v).expect("a list")
}

/// Checks the page and writes its screenshot.
async fn shoot(b: &Browser, name: &str, faults: &mut Vec<String>) {
    // Fonts and layout settled: two animation frames after ready.
    b.c.execute_async(
        "const done = arguments[0]; document.fonts.ready.then(() => requestAnimationFrame(() => requestAnimationFrame(done)))",
        vec![],
    )
    .await
    .expect("a settled frame");
    for f in layout_faults(b).await {
        faults.push(format!("{name} {}x{}: {f}", b.w, b.h));
    }
    let path = b.screenshot(name).await;
    eprintln!("browser: screenshot {}", path.display());
    b.full_screenshot(name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_every_page_at_two_sizes() {
    let hub = Hub::start_empty(secret_env(None));
    let proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;
    let mut faults = Vec::new();
    for (w, h) in SIZES {
        let b = driver.session(&proxy.url(), w, h).await;
        b.goto("/setup").await;
        b.wait_for("#setup-form").await;
        shoot(&b, "setup", &mut faults).await;
        b.close().await;
    }

    // A shop with work on the board: stages, priorities, a hold, and a conflict.
    let owner = hub.set_up().await;
    let (tech, tech_email) = hub.user(&owner, "technician", "Remy Repair").await;
    // Long values: a name no select may grow to fit, words longer than any
    // column (a pasted claim reference, a URL), in a list, a card and a button.
    hub.user(
        &owner,
        "technician",
        "Maximiliano Bartholomew Fitzgerald Featherstonehaugh of the Night Shift Crew",
    )
    .await;
    let long_word =
        "CLAIM-REF-2026-0000000000000000000000000000000000000000000000000000000000000000";
    hub.create(
        &owner,
        "customers",
        json!({"first_name": "Lona", "last_name": long_word, "email": "lona@example.com"}),
    )
    .await;
    let ros = hub
        .seed_ros(&owner, 9, json!({ "primary_technician_id": tech }))
        .await;
    let plan: [(&str, &str, Option<&str>); 9] = [
        ("intake", "normal", None),
        ("intake", "urgent", None),
        ("blueprint", "high", Some("insurance_approval")),
        ("parts_ordering", "normal", Some("parts_delay")),
        ("body_structure", "low", None),
        ("paint_prep", "normal", None),
        ("paint_booth", "high", None),
        ("reassembly", "normal", None),
        ("quality_control", "urgent", None),
    ];
    for (ro, (stage, priority, hold)) in ros.iter().zip(plan) {
        let id = ro["id"].as_str().expect("id");
        hub.patch(
            &owner,
            "repair_orders",
            id,
            json!({"stage": stage, "priority": priority, "hold_reason": hold,
                   "notes": "Rear bumper, left quarter panel"}),
        )
        .await;
    }
    let ro_id = ros[2]["id"].as_str().expect("id").to_string();
    // A real conflict: two edits of one field from the same version.
    let c = hub
        .create(
            &owner,
            "customers",
            json!({"first_name": "Connie", "last_name": "Flict", "notes": "call first"}),
        )
        .await;
    let cid = c["id"].as_str().expect("id");
    let long_note = format!("Call after 5 pm about {long_word}");
    for v in ["Prefers text messages", long_note.as_str()] {
        hub.patch(
            &owner,
            "customers",
            cid,
            json!({"notes": v, "_base": c["_heads"]}),
        )
        .await;
    }
    let open: Value = hub.get(&owner, "/api/conflicts").await;
    assert!(!open["data"].as_array().expect("data").is_empty(), "{open}");

    for (w, h) in SIZES {
        let b = driver.session(&proxy.url(), w, h).await;
        b.login(OWNER_EMAIL, PASSWORD).await;
        b.wait_for(&format!("article.card[data-ro-id=\"{ro_id}\"] .hold"))
            .await;
        shoot(&b, "board", &mut faults).await;
        b.goto(&format!("/records/repair_orders/{ro_id}")).await;
        b.wait_for("#ro-history").await;
        b.wait_ready().await;
        shoot(&b, "ro", &mut faults).await;
        b.goto("/records/customers").await;
        b.wait_for("table").await;
        b.wait_ready().await;
        shoot(&b, "customers", &mut faults).await;
        b.goto("/conflicts").await;
        b.wait_for("#conflicts-list [data-conflict-id]").await;
        shoot(&b, "conflicts", &mut faults).await;
        b.goto("/settings/sync").await;
        b.wait_for("form#sync-credentials").await;
        b.wait_ready().await;
        shoot(&b, "sync", &mut faults).await;
        b.close().await;

        let t = driver.session(&proxy.url(), w, h).await;
        t.login(&tech_email, PASSWORD).await;
        t.goto("/tablet").await;
        t.wait_for("#my-ros article.card[data-ro-id]").await;
        t.wait_ready().await;
        shoot(&t, "tablet", &mut faults).await;
        t.close().await;
    }
    proxy.assert_no_secrets(&hub.secrets(), true);
    assert!(faults.is_empty(), "layout faults:\n{}", faults.join("\n"));
}
