//! HTTP endpoint generator: one request per call (method, URL, headers, JSON
//! body) over kept-alive HTTP/1.1 connections that the endpoint owns. The
//! request's parts are built once (the URI, the header map with `Host`, the
//! serialized body) and cloned per call; a call takes an idle connection,
//! or opens one, and gives it back when the reply's body is read. Status
//! ≥ 400 is a `tool` error; a connection failure is `transport`. Each
//! endpoint is one row in the tables. Plain `http://` only (no TLS).
//!
//! Why not the `reqwest` client the LLM endpoints use: per request it parses
//! the URL again, builds the headers, takes its pool's lock and arms its own
//! timer beside the engine's; on a loopback nginx that cost the generator
//! two thirds of its requests per CPU-second (docs/performance.md).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use hyper::{HeaderMap, Method, Request, Uri};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use crate::load::stats::ErrorKind;

#[derive(Debug, Clone, PartialEq)]
pub struct HttpEndpointSpec {
    /// Row name in the per-tool tables (e.g. `chat`, `health`).
    pub name: String,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

/// Why an endpoint's spec cannot be used (named in the scenario's error).
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("endpoint '{name}': bad method '{method}'")]
    Method { name: String, method: String },
    #[error("endpoint '{name}': bad url '{url}': {why}")]
    Url {
        name: String,
        url: String,
        why: String,
    },
    #[error("endpoint '{name}': bad header '{header}'")]
    Header { name: String, header: String },
}

/// Idle kept-alive connections to one endpoint (at most `max` are kept).
struct Pool {
    /// `host:port` to connect to.
    addr: String,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
    max: usize,
}

impl Pool {
    fn take(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(c) = idle.pop() {
            if !c.is_closed() {
                return Some(c);
            }
        }
        None
    }

    fn give_back(&self, c: SendRequest<Full<Bytes>>) {
        if c.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.max {
                idle.push(c);
            }
        }
    }

    /// A new connection; its I/O runs on its own task until either side
    /// closes it (dropping the last `SendRequest` closes it).
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ErrorKind> {
        let tcp = tokio::net::TcpStream::connect(&self.addr)
            .await
            .map_err(|_| ErrorKind::Transport)?;
        let _ = tcp.set_nodelay(true);
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|_| ErrorKind::Transport)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(send)
    }
}

/// A ready endpoint (cheap to clone: the op table holds one per mix row).
#[derive(Clone)]
pub struct HttpEndpoint {
    pub spec: Arc<HttpEndpointSpec>,
    parts: Arc<Parts>,
}

/// An endpoint's request parts, built once, and its connections.
struct Parts {
    method: Method,
    /// Origin form (`/path?query`), sent with a `Host` header.
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    pool: Pool,
}

impl std::fmt::Debug for HttpEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpEndpoint")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl HttpEndpoint {
    /// `pool`: most idle connections kept (the engine's `max_in_flight`).
    pub fn new(spec: HttpEndpointSpec, pool: usize) -> Result<Self, EndpointError> {
        let name = || spec.name.clone();
        let method =
            Method::from_bytes(spec.method.to_ascii_uppercase().as_bytes()).map_err(|_| {
                EndpointError::Method {
                    name: name(),
                    method: spec.method.clone(),
                }
            })?;
        let bad_url = |why: &str| EndpointError::Url {
            name: name(),
            url: spec.url.clone(),
            why: why.to_string(),
        };
        let full: Uri = spec.url.parse().map_err(|e| bad_url(&format!("{e}")))?;
        match full.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(bad_url("https is not supported (plain http only)")),
            _ => return Err(bad_url("not an http:// URL")),
        }
        let authority = full.authority().ok_or_else(|| bad_url("no host"))?.clone();
        // `host()` keeps an IPv6 address's brackets: `[::1]:9000`.
        let addr = format!(
            "{}:{}",
            authority.host(),
            authority.port_u16().unwrap_or(80)
        );
        let uri = full
            .path_and_query()
            .map_or_else(|| Uri::from_static("/"), |p| Uri::from(p.clone()));
        let mut headers = HeaderMap::new();
        headers.insert(
            HOST,
            HeaderValue::from_str(authority.as_str()).map_err(|_| bad_url("bad host"))?,
        );
        let body = match &spec.body {
            Some(b) => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Bytes::from(serde_json::to_vec(b).unwrap_or_default())
            }
            None => Bytes::new(),
        };
        for (k, v) in &spec.headers {
            let bad = || EndpointError::Header {
                name: name(),
                header: k.clone(),
            };
            let k = HeaderName::from_bytes(k.as_bytes()).map_err(|_| bad())?;
            let v = HeaderValue::from_str(v).map_err(|_| bad())?;
            headers.insert(k, v);
        }
        Ok(HttpEndpoint {
            parts: Arc::new(Parts {
                method,
                uri,
                headers,
                body,
                pool: Pool {
                    addr,
                    idle: Mutex::new(Vec::new()),
                    max: pool.max(1),
                },
            }),
            spec: Arc::new(spec),
        })
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let p = &*self.parts;
        let mut req = Request::new(Full::new(p.body.clone()));
        *req.method_mut() = p.method.clone();
        *req.uri_mut() = p.uri.clone();
        *req.headers_mut() = p.headers.clone();
        req
    }

    pub async fn call(&self) -> Result<(), ErrorKind> {
        // A kept-alive connection the server closed while idle fails before
        // any reply: that request goes once more, on a new connection.
        let pool = &self.parts.pool;
        let (mut conn, reused) = match pool.take() {
            Some(c) => (c, true),
            None => (pool.connect().await?, false),
        };
        let resp = match conn.send_request(self.request()).await {
            Ok(r) => r,
            Err(e) if reused && (e.is_canceled() || e.is_incomplete_message()) => {
                conn = pool.connect().await?;
                conn.send_request(self.request())
                    .await
                    .map_err(|_| ErrorKind::Transport)?
            }
            Err(_) => return Err(ErrorKind::Transport),
        };
        let status = resp.status();
        // Read the body so the connection can take the next request.
        let body = resp.into_body().collect().await;
        pool.give_back(conn);
        if status.as_u16() >= 400 {
            Err(ErrorKind::Tool)
        } else if body.is_err() {
            Err(ErrorKind::Transport)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> HttpEndpointSpec {
        HttpEndpointSpec {
            name: "e".into(),
            method: "post".into(),
            url: url.into(),
            headers: vec![("X-Key".into(), "1".into())],
            body: Some(serde_json::json!({"a": 1})),
        }
    }

    #[test]
    fn request_parts_are_built_once() {
        let e = HttpEndpoint::new(spec("http://127.0.0.1:8089/v1/x?y=2"), 4).unwrap();
        let r = e.request();
        assert_eq!(r.method(), Method::POST);
        assert_eq!(r.uri(), "/v1/x?y=2");
        assert_eq!(r.headers()[HOST], "127.0.0.1:8089");
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(r.headers()["x-key"], "1");
        assert_eq!(e.parts.pool.addr, "127.0.0.1:8089");
        let e = HttpEndpoint::new(spec("http://localhost"), 4).unwrap();
        assert_eq!(
            (e.parts.pool.addr.as_str(), e.request().uri().path()),
            ("localhost:80", "/")
        );
        let e = HttpEndpoint::new(spec("http://[::1]:9000/"), 4).unwrap();
        assert_eq!(e.parts.pool.addr, "[::1]:9000");
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let err = |url: &str| HttpEndpoint::new(spec(url), 1).unwrap_err().to_string();
        assert!(err("https://x/").contains("https is not supported"));
        assert!(err("ftp://x/").contains("not an http"));
        assert!(err("http://").contains("bad url"));
        let mut s = spec("http://x/");
        s.method = "GE T".into();
        assert!(HttpEndpoint::new(s, 1)
            .unwrap_err()
            .to_string()
            .contains("bad method"));
        let mut s = spec("http://x/");
        s.headers = vec![("bad header".into(), "v".into())];
        assert!(HttpEndpoint::new(s, 1)
            .unwrap_err()
            .to_string()
            .contains("bad header"));
    }
}
