//! The web UI, embedded in the binary from `web/` (rust-embed): every path
//! outside `/api` and `/metrics` is a file of the UI, or, for a client-side
//! route (a path without a file extension), the app's page.
//!
//! Versioned assets: the UI's version is a hash of every embedded file, and
//! `index.html` and `sw.js` name it where they say `__V__` (and `index.html`
//! preloads every module where it says `<!--modulepreload-->`). A file asked for
//! under `/v/<version>/…` (the page loads its scripts and styles there, and
//! their relative imports follow) is cached by the browser for a year
//! (`immutable`): a new hub has a new version, so new URLs. Everything else —
//! the page, the service worker, unversioned paths and a version that is not
//! this hub's — is `no-cache` with an ETag (its SHA-256), so a browser asks
//! again each time and gets `304 Not Modified` until the hub is updated.
//! `/assets.json` lists the files the service worker keeps for offline starts.

use super::ApiError;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

#[derive(rust_embed::RustEmbed)]
#[folder = "web/"]
struct Assets;

/// Files whose text names the version (`__V__`): never cached for long.
const TEMPLATED: &[&str] = &["index.html", "sw.js"];
const PLACEHOLDER: &str = "__V__";
const YEAR: &str = "public, max-age=31536000, immutable";
/// Where `index.html` wants a `modulepreload` link for each of the UI's modules
/// (so the browser fetches them at once instead of import by import).
const PRELOAD: &str = "<!--modulepreload-->";

fn preloads(v: &str) -> String {
    let mut names: Vec<Cow<'static, str>> = Assets::iter()
        .filter(|n| n.starts_with("js/") && n.ends_with(".js"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| format!("<link rel=\"modulepreload\" href=\"/v/{v}/{n}\">"))
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// The UI's version: the first 12 hex digits of a hash over every file's path
/// and hash. Computed once in a release build (the files are in the binary); in
/// a debug build rust-embed reads `web/` from disk, so an edit shows within a
/// second (the version is kept that long, not recomputed for every file).
fn version() -> String {
    #[cfg(not(debug_assertions))]
    {
        static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        V.get_or_init(compute_version).clone()
    }
    #[cfg(debug_assertions)]
    {
        use std::sync::Mutex;
        use std::time::{Duration, Instant};
        static V: Mutex<Option<(Instant, String)>> = Mutex::new(None);
        let mut kept = V.lock().unwrap_or_else(|p| p.into_inner());
        match kept.as_ref() {
            Some((at, v)) if at.elapsed() < Duration::from_secs(1) => v.clone(),
            _ => {
                let v = compute_version();
                *kept = Some((Instant::now(), v.clone()));
                v
            }
        }
    }
}

fn compute_version() -> String {
    let mut names: Vec<Cow<'static, str>> = Assets::iter().collect();
    names.sort();
    let mut h = Sha256::new();
    for n in names {
        if let Some(f) = Assets::get(&n) {
            h.update(n.as_bytes());
            h.update(f.metadata.sha256_hash());
        }
    }
    hex::encode(h.finalize())[..12].to_string()
}

/// `GET` of any path outside the API.
pub async fn asset(uri: Uri, headers: HeaderMap) -> Response {
    let Some(decoded) = percent_decoded(uri.path()) else {
        return ApiError::NotFound("no such page (the path is not valid UTF-8)".into())
            .into_response();
    };
    let mut path = decoded.trim_start_matches('/');
    // `/v/<version>/file`: the file, cached for a year when the version is ours.
    let mut long_cache = false;
    if let Some(rest) = path.strip_prefix("v/") {
        let (v, file) = rest.split_once('/').unwrap_or((rest, ""));
        long_cache = v == version();
        path = file;
    }
    if path == "assets.json" {
        return asset_list(&headers);
    }
    // What the API's own router did not take (`/api`, `/api/`) is an API
    // path with no endpoint, never the app's page.
    if path == "api" || path.starts_with("api/") {
        return ApiError::NotFound("no such endpoint".into()).into_response();
    }
    let path = if path.is_empty() { "index.html" } else { path };
    let (name, file) = match Assets::get(path) {
        Some(f) => (path, f),
        // A client-side route (no extension): the app's page.
        None if !path.rsplit('/').next().unwrap_or_default().contains('.') => {
            match Assets::get("index.html") {
                Some(f) => ("index.html", f),
                None => return ApiError::NotFound("the web UI is missing".into()).into_response(),
            }
        }
        None => return ApiError::NotFound(format!("no file /{path}")).into_response(),
    };
    let mime = mime_type(name);
    if TEMPLATED.contains(&name) {
        let v = version();
        let text = String::from_utf8_lossy(&file.data)
            .replace(PRELOAD, &preloads(&v))
            .replace(PLACEHOLDER, &v);
        return answer(&headers, text.into_bytes(), mime, "no-cache");
    }
    let cache = if long_cache { YEAR } else { "no-cache" };
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    respond(&headers, etag, file.data.into_owned(), mime, cache)
}

/// `/assets.json`: the version and every file under `/v/<version>/` (the
/// service worker's list for offline starts).
fn asset_list(headers: &HeaderMap) -> Response {
    let v = version();
    let mut files: Vec<String> = Assets::iter()
        .filter(|n| !TEMPLATED.contains(&n.as_ref()))
        .map(|n| format!("/v/{v}/{n}"))
        .collect();
    files.sort();
    let body = serde_json::json!({ "version": v, "files": files }).to_string();
    answer(headers, body.into_bytes(), "application/json", "no-cache")
}

/// An answer whose ETag is the hash of its bytes.
fn answer(headers: &HeaderMap, body: Vec<u8>, mime: &'static str, cache: &'static str) -> Response {
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(&body)));
    respond(headers, etag, body, mime, cache)
}

fn respond(
    headers: &HeaderMap,
    etag: String,
    body: Vec<u8>,
    mime: &'static str,
    cache: &'static str,
) -> Response {
    let common = [
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (
            header::ETAG,
            HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\"")),
        ),
    ];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if matches {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        StatusCode::OK,
        common,
        [(header::CONTENT_TYPE, HeaderValue::from_static(mime))],
        body,
    )
        .into_response()
}

/// The content type of a UI file, by its extension.
fn mime_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "webmanifest" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// The path with its `%XX` escapes decoded, or `None` when they do not make
/// UTF-8 text (no file or page has such a name).
fn percent_decoded(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
