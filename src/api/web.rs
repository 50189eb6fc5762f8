//! The web UI, embedded in the binary from `web/` (rust-embed): every path
//! outside `/api` and `/metrics` is a file of the UI, or, for a client-side
//! route (a path without a file extension), the app's page. Answers carry the
//! file's content type and an ETag (its SHA-256), and `no-cache`: a browser
//! asks again each time and gets `304 Not Modified` until the hub is updated.

use super::ApiError;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "web/"]
struct Assets;

/// `GET` of any path outside the API.
pub async fn asset(uri: Uri, headers: HeaderMap) -> Response {
    let Some(decoded) = percent_decoded(uri.path()) else {
        return ApiError::NotFound("no such page (the path is not valid UTF-8)".into())
            .into_response();
    };
    let path = decoded.trim_start_matches('/');
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
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let cache = [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
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
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    let mime = mime_guess_type(name);
    (
        StatusCode::OK,
        cache,
        [(header::CONTENT_TYPE, HeaderValue::from_static(mime))],
        file.data.into_owned(),
    )
        .into_response()
}

/// The content type of a UI file, by its extension.
fn mime_guess_type(name: &str) -> &'static str {
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
