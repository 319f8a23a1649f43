//! The one network guard of everything jetstress serves (`/metrics`,
//! `mcp-serve --http`): a non-loopback bind needs a token, and a request's
//! bearer token is compared in constant time.

use std::net::SocketAddr;

use subtle::ConstantTimeEq;

/// What is being served, for the flags an error names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Prometheus `/metrics` (`--metrics`, `--metrics-token`).
    Metrics,
    /// `mcp-serve --http` (`--token`).
    Mcp,
}

/// A bind refused by [`check_bind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    #[error("--metrics {0} is not a loopback address: set --metrics-token (or JETSTRESS_METRICS_TOKEN) to expose it")]
    Metrics(SocketAddr),
    #[error(
        "refusing to serve MCP on non-loopback address {0} without a token: \
         set --token or JETSTRESS_MCP_TOKEN (clients then send `Authorization: Bearer <token>`), \
         or bind 127.0.0.1"
    )]
    Mcp(SocketAddr),
}

/// Refuse a non-loopback bind without a (non-empty) token. Pure, so tests
/// need no socket.
pub fn check_bind(
    service: Service,
    addr: SocketAddr,
    token: Option<&str>,
) -> Result<(), BindError> {
    if addr.ip().is_loopback() || token.is_some_and(|t| !t.is_empty()) {
        return Ok(());
    }
    Err(match service {
        Service::Metrics => BindError::Metrics(addr),
        Service::Mcp => BindError::Mcp(addr),
    })
}

/// Does this `Authorization` header value carry `token`? Constant time in
/// the token's length.
pub fn bearer_matches(header_value: Option<&str>, token: &str) -> bool {
    let Some(given) = header_value
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return false;
    };
    given.as_bytes().ct_eq(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_non_loopback_needs_a_token() {
        let lan: SocketAddr = "0.0.0.0:9100".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:9100".parse().unwrap();
        let check_bind = |a: &SocketAddr, t: Option<&str>| check_bind(Service::Metrics, *a, t);
        assert!(check_bind(&lan, None).is_err());
        assert!(check_bind(&lan, Some("")).is_err());
        assert!(check_bind(&lan, Some("s3cret")).is_ok());
        assert!(check_bind(&lo, None).is_ok());
    }

    #[test]
    fn mcp_non_loopback_needs_a_token() {
        let lo: SocketAddr = "127.0.0.1:7400".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:7400".parse().unwrap();
        let v6: SocketAddr = "[::1]:7400".parse().unwrap();
        let check_bind = |a: SocketAddr, t: Option<&str>| {
            check_bind(Service::Mcp, a, t).map_err(|e| e.to_string())
        };
        assert!(check_bind(lo, None).is_ok());
        assert!(check_bind(v6, None).is_ok());
        let e = check_bind(any, None).unwrap_err();
        assert!(e.contains("0.0.0.0:7400") && e.contains("--token"), "{e}");
        assert!(check_bind(any, Some("s3cret")).is_ok());
    }

    #[test]
    fn bearer_tokens_compare_exactly() {
        assert!(bearer_matches(Some("Bearer abc"), "abc"));
        assert!(!bearer_matches(Some("Bearer abd"), "abc"));
        assert!(!bearer_matches(Some("Bearer ab"), "abc"));
        assert!(!bearer_matches(Some("Basic abc"), "abc"));
        assert!(!bearer_matches(None, "abc"));
    }
}
