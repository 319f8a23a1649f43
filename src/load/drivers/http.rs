//! HTTP endpoint generator: one pooled `reqwest` client, one request per call
//! (method, URL, headers, JSON body). Status ≥ 400 is a `tool` error; a
//! connection failure is `transport`. Each endpoint is one row in the tables.

use std::time::Duration;

use reqwest::Method;
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

/// A ready endpoint.
#[derive(Debug, Clone)]
pub struct HttpEndpoint {
    pub spec: HttpEndpointSpec,
    method: Method,
    client: reqwest::Client,
}

/// One connection-pooled client shared by every endpoint.
pub fn client(timeout: Duration, pool: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .pool_max_idle_per_host(pool)
        .build()?)
}

impl HttpEndpoint {
    pub fn new(spec: HttpEndpointSpec, client: reqwest::Client) -> anyhow::Result<Self> {
        let method =
            Method::from_bytes(spec.method.to_ascii_uppercase().as_bytes()).map_err(|_| {
                anyhow::anyhow!("endpoint '{}': bad method '{}'", spec.name, spec.method)
            })?;
        reqwest::Url::parse(&spec.url).map_err(|e| {
            anyhow::anyhow!("endpoint '{}': bad url '{}': {e}", spec.name, spec.url)
        })?;
        Ok(HttpEndpoint {
            spec,
            method,
            client,
        })
    }

    pub async fn call(&self) -> Result<(), ErrorKind> {
        let mut req = self.client.request(self.method.clone(), &self.spec.url);
        for (k, v) in &self.spec.headers {
            req = req.header(k, v);
        }
        if let Some(b) = &self.spec.body {
            req = req.json(b);
        }
        match req.send().await {
            Ok(resp) => {
                let status = resp.status();
                // Read the body so the connection goes back to the pool.
                let body = resp.bytes().await;
                if status.as_u16() >= 400 {
                    Err(ErrorKind::Tool)
                } else if body.is_err() {
                    Err(ErrorKind::Transport)
                } else {
                    Ok(())
                }
            }
            Err(e) if e.is_timeout() => Err(ErrorKind::Timeout),
            Err(_) => Err(ErrorKind::Transport),
        }
    }
}
