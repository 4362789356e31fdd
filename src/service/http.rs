//! The one HTTP responder of service mode, on `metrics_addr`: `GET /metrics` (Prometheus text
//! format, rendered by the exporter's handle) and `GET /healthz` (200 or 503 with the reason).
//!
//! Why not the exporter's own HTTP listener: it answers every path with the metrics and
//! `/health` with a constant `200 OK`, so it could neither host `/healthz` nor avoid a second
//! health URL that says "OK" while perpwatch sees nothing. This responder is HTTP/1.x with
//! `Connection: close`, a bounded request head, a read timeout and a cap on connections.

use super::health::Health;
use super::prometheus::healthy_gauge;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Longest request head read (the request line and headers; bodies are not read).
const MAX_HEAD: usize = 8 * 1024;
/// A client gets this long to send its request and read the answer.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 16;

/// What the responder serves.
pub(crate) struct Endpoints {
    pub(crate) metrics: PrometheusHandle,
    pub(crate) health: Arc<Mutex<Health>>,
}

/// One answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
}

impl Response {
    fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }

    fn reason(&self) -> &'static str {
        match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            431 => "Request Header Fields Too Large",
            503 => "Service Unavailable",
            _ => "Error",
        }
    }

    /// The bytes on the wire; a HEAD request gets the headers only.
    fn to_bytes(&self, head_only: bool) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n",
            self.status,
            self.reason(),
            self.content_type,
            self.body.len()
        );
        if self.status == 405 {
            out.push_str("Allow: GET, HEAD\r\n");
        }
        out.push_str("Connection: close\r\n\r\n");
        let mut bytes = out.into_bytes();
        if !head_only {
            bytes.extend_from_slice(self.body.as_bytes());
        }
        bytes
    }
}

/// Answers one request line (`GET /healthz HTTP/1.1`) at `now`.
pub(crate) fn route(
    request_line: &str,
    endpoints: &Endpoints,
    now: tokio::time::Instant,
) -> (Response, bool) {
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return (Response::text(400, "bad request\n"), false);
    };
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return (Response::text(405, "only GET and HEAD are served\n"), false);
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    let verdict = endpoints
        .health
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .verdict(now);
    let response = match path {
        "/metrics" => {
            let mut body = endpoints.metrics.render();
            body.push_str(&healthy_gauge(verdict.healthy));
            Response {
                status: 200,
                content_type: "text/plain; version=0.0.4; charset=utf-8",
                body,
            }
        }
        "/healthz" => Response::text(
            if verdict.healthy { 200 } else { 503 },
            format!("{}\n", verdict.reason),
        ),
        _ => Response::text(404, "not found: perpwatch serves /metrics and /healthz\n"),
    };
    (response, head_only)
}

/// Serves `listener` until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, endpoints: Arc<Endpoints>) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: don't spin.
                tracing::debug!("metrics listener: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let endpoints = Arc::clone(&endpoints);
        tokio::spawn(async move {
            let _permit = permit;
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, answer(stream, &endpoints)).await;
        });
    }
}

async fn answer(mut stream: TcpStream, endpoints: &Endpoints) -> std::io::Result<()> {
    let (response, head_only) = match read_head(&mut stream).await? {
        Head::Line(line) => route(&line, endpoints, tokio::time::Instant::now()),
        Head::TooLarge => (Response::text(431, "request head too large\n"), false),
        Head::Closed => return Ok(()),
    };
    stream.write_all(&response.to_bytes(head_only)).await?;
    stream.shutdown().await
}

enum Head {
    Line(String),
    TooLarge,
    Closed,
}

/// Reads up to the end of the request head and returns its first line.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Head> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Head::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
        let ended =
            buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n");
        if ended {
            let text = String::from_utf8_lossy(&buf);
            let line = text.lines().next().unwrap_or_default().to_string();
            return Ok(Head::Line(line));
        }
        if buf.len() >= MAX_HEAD {
            return Ok(Head::TooLarge);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{cycle_report, demo_label, symbol_report};
    use crate::model::{Field, Funding, Snapshot, SourceKind};
    use crate::service::health::CycleSummary;

    fn endpoints() -> (Endpoints, metrics_exporter_prometheus::PrometheusRecorder) {
        let (recorder, handle) = super::super::prometheus::recorder();
        let health = Health::new(Duration::from_secs(60), tokio::time::Instant::now());
        (
            Endpoints {
                metrics: handle,
                health: Arc::new(Mutex::new(health)),
            },
            recorder,
        )
    }

    #[tokio::test]
    async fn http_serves_metrics_and_health_over_loopback() {
        let (endpoints, recorder) = endpoints();
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("perpwatch_cycles_total").increment(4);
        });
        let endpoints = Arc::new(endpoints);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(serve(listener, Arc::clone(&endpoints)));
        let client = reqwest::Client::new();
        let get = |path: &str| {
            let req = client.get(format!("http://{addr}{path}"));
            async move {
                let resp = req.send().await.expect("request");
                let status = resp.status().as_u16();
                let kind = resp
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                (status, kind, resp.text().await.expect("body"))
            }
        };

        // Starting: 503 with the reason; the metrics say unhealthy.
        let (status, _, body) = get("/healthz").await;
        assert_eq!(status, 503);
        assert!(
            body.starts_with("starting: no cycle has completed yet"),
            "{body}"
        );
        let (status, kind, body) = get("/metrics?x=1").await;
        assert_eq!(status, 200);
        assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
        assert!(body.contains("perpwatch_cycles_total 4"), "{body}");
        assert!(body.contains("perpwatch_healthy 0"), "{body}");

        // After a cycle with data: 200.
        let at = chrono::Utc::now();
        let mut s = Snapshot::new("BTC", SourceKind::Demo, at);
        s.funding = Field::fresh(Funding::default(), at);
        let report = cycle_report(1, at, demo_label(), vec![symbol_report(s, vec![])]);
        endpoints
            .health
            .lock()
            .expect("lock")
            .observe(CycleSummary::of(&report), tokio::time::Instant::now());
        let (status, _, body) = get("/healthz").await;
        assert_eq!(status, 200, "{body}");
        assert!(body.starts_with("ok: cycle 1 finished"), "{body}");
        assert!(get("/metrics").await.2.contains("perpwatch_healthy 1"));

        let (status, _, body) = get("/").await;
        assert_eq!(status, 404);
        assert!(body.contains("/metrics and /healthz"), "{body}");
        let resp = client
            .post(format!("http://{addr}/metrics"))
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status().as_u16(), 405);
        assert_eq!(
            resp.headers().get("allow").and_then(|v| v.to_str().ok()),
            Some("GET, HEAD")
        );
        let resp = client
            .head(format!("http://{addr}/healthz"))
            .send()
            .await
            .expect("head");
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(resp.text().await.unwrap_or_default(), "");
        server.abort();
    }

    #[tokio::test]
    async fn http_bounds_what_it_reads() {
        let (endpoints, _recorder) = endpoints();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(serve(listener, Arc::new(endpoints)));
        // An endless header: 431 after 8 KiB, connection closed.
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        // Exactly MAX_HEAD bytes, all read by the server, so that closing does not reset.
        let mut junk = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
        junk.resize(MAX_HEAD, b'a');
        stream.write_all(&junk).await.expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
        // Garbage request line: 400.
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(b"\r\n\r\n").await.expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
        server.abort();
    }
}
