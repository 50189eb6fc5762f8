//! The test's own TCP proxy between the browser and the hub: the browser only
//! ever talks to it, and it keeps every byte the hub sends back, connection by
//! connection (HTTP responses and the WebSocket's server frames, which are not
//! masked), so a test can search everything the pages received for secrets.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Stream = Arc<Mutex<Vec<u8>>>;

pub struct RecordingProxy {
    pub port: u16,
    /// What the hub sent on each connection, in order.
    streams: Arc<Mutex<Vec<Stream>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RecordingProxy {
    /// Listens on a free loopback port and forwards each connection to
    /// `target` (`host:port`). While the hub is down a connection is closed at
    /// once, as the hub's own closed port would refuse it.
    pub async fn start(target: &str) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let streams: Arc<Mutex<Vec<Stream>>> = Arc::default();
        let (all, target) = (streams.clone(), target.to_string());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (all, target) = (all.clone(), target.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let rec: Stream = Arc::default();
                    all.lock().expect("streams").push(rec.clone());
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async {
                        let _ = tokio::io::copy(&mut cr, &mut sw).await;
                        let _ = sw.shutdown().await;
                    };
                    let down = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            match sr.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    rec.lock().expect("record").extend_from_slice(&buf[..n]);
                                    if cw.write_all(&buf[..n]).await.is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = cw.shutdown().await;
                    };
                    // Either side closing ends the connection.
                    tokio::select! { _ = up => {}, _ = down => {} }
                });
            }
        });
        RecordingProxy {
            port,
            streams,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Everything recorded so far: one byte string per connection.
    pub fn recorded(&self) -> Vec<Vec<u8>> {
        self.streams
            .lock()
            .expect("streams")
            .iter()
            .map(|s| s.lock().expect("record").clone())
            .collect()
    }

    /// Asserts that no secret is in anything the hub sent the browser, that
    /// nothing was compressed (so the search saw the plain bytes), and that
    /// there was something to search (pages, API answers and a WebSocket).
    pub fn assert_no_secrets(&self, secrets: &[(String, Vec<u8>)], want_ws: bool) {
        let streams = self.recorded();
        let total: usize = streams.iter().map(Vec::len).sum();
        assert!(total > 10_000, "the proxy saw only {total} bytes");
        // The search reads the API's own answers, not only the static files.
        assert!(
            streams
                .iter()
                .any(|s| contains(&s.to_ascii_lowercase(), b"content-type: application/json")),
            "no API answer went through the proxy"
        );
        let mut found = Vec::new();
        let mut ws = false;
        for (i, s) in streams.iter().enumerate() {
            let lower = s.to_ascii_lowercase();
            for bad in [
                &b"content-encoding: gzip"[..],
                b"content-encoding: br",
                b"content-encoding: deflate",
                b"content-encoding: zstd",
                b"permessage-deflate",
            ] {
                assert!(
                    !contains(&lower, bad),
                    "connection {i} was compressed ({}): the search would not see plain bytes",
                    String::from_utf8_lossy(bad)
                );
            }
            ws |= contains(&lower, b"http/1.1 101 switching protocols");
            for (what, secret) in secrets {
                if contains(s, secret) {
                    let at = find(s, secret).unwrap_or(0);
                    let from = at.saturating_sub(200);
                    found.push(format!(
                        "{what} in connection {i}: …{}…",
                        String::from_utf8_lossy(&s[from..(at + secret.len()).min(s.len())])
                    ));
                }
            }
        }
        assert!(
            found.is_empty(),
            "secrets reached the browser:\n{}",
            found.join("\n")
        );
        if want_ws {
            assert!(ws, "no WebSocket went through the proxy");
        }
        eprintln!(
            "browser: searched {total} bytes on {} connections for {} secrets: none",
            streams.len(),
            secrets.len()
        );
    }

    /// Whether any response the browser received contains `needle`.
    pub fn saw(&self, needle: &[u8]) -> bool {
        self.recorded().iter().any(|s| contains(s, needle))
    }

    /// Where `needle` was received: the head of the response carrying it and
    /// the bytes around it (for a failure message); `None` when nowhere.
    pub fn where_seen(&self, needle: &[u8]) -> Option<String> {
        self.recorded().iter().find_map(|s| {
            let at = find(s, needle)?;
            let head = s[..at]
                .windows(9)
                .rposition(|w| w == b"HTTP/1.1 ")
                .map(|h| String::from_utf8_lossy(&s[h..(h + 300).min(at)]).into_owned())
                .unwrap_or_default();
            let around = String::from_utf8_lossy(
                &s[at.saturating_sub(300)..(at + needle.len() + 100).min(s.len())],
            )
            .into_owned();
            Some(format!("response {head}\n…{around}…"))
        })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}
