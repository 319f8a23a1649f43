//! Listen addresses as operators write them: `127.0.0.1:7400`,
//! `[::1]:7400`, `0.0.0.0:7400`, `localhost:7400` or any host name, which is
//! resolved once at start (its first address). The bind check
//! ([`super::auth::check_bind`]) applies to the resolved address.

use std::net::{SocketAddr, ToSocketAddrs};

/// Where to listen, and the name it was given by (a Host header carrying
/// that name is then accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddr {
    pub addr: SocketAddr,
    /// The host name as written, when it was a name and not an IP.
    pub host: Option<String>,
}

impl std::fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.host {
            Some(h) => write!(f, "{h}:{} ({})", self.addr.port(), self.addr),
            None => write!(f, "{}", self.addr),
        }
    }
}

/// Why a listen address is refused (shown after clap's `invalid value … for '--flag'`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    #[error("expected HOST:PORT (127.0.0.1:7400, [::1]:7400, 0.0.0.0:7400, localhost:7400)")]
    Shape,
    #[error("no host before ':{0}': write 127.0.0.1:{0} (this machine only) or 0.0.0.0:{0} (every interface)")]
    NoHost(u16),
    #[error("'{0}' is not a port (0-65535)")]
    Port(String),
    #[error("'{0}' is not a host name or IP address")]
    Host(String),
    #[error("cannot resolve '{host}': {why}")]
    Resolve { host: String, why: String },
}

/// The address written, before any name is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Ip(SocketAddr),
    Name(String, u16),
}

/// Split `s` into an IP address or a host name, and a port. Pure.
pub fn parse_written(s: &str) -> Result<Written, AddrError> {
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(Written::Ip(a));
    }
    let (host, port) = s.rsplit_once(':').ok_or(AddrError::Shape)?;
    let port: u16 = port.parse().map_err(|_| AddrError::Port(port.into()))?;
    if host.is_empty() {
        return Err(AddrError::NoHost(port));
    }
    // `[…]` is only for IPv6 literals, and those parsed above; a bare IPv6
    // address needs the brackets (`::1:7400` is ambiguous).
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    if !host.chars().all(name_char) || host.starts_with(['-', '.']) {
        return Err(AddrError::Host(host.into()));
    }
    Ok(Written::Name(host.to_ascii_lowercase(), port))
}

/// Parse and, for a host name, resolve to its first address.
pub fn parse_listen_addr(s: &str) -> Result<ListenAddr, AddrError> {
    match parse_written(s)? {
        Written::Ip(addr) => Ok(ListenAddr { addr, host: None }),
        Written::Name(host, port) => {
            let first = (host.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| AddrError::Resolve {
                    host: host.clone(),
                    why: e.to_string(),
                })?
                .next()
                .ok_or_else(|| AddrError::Resolve {
                    host: host.clone(),
                    why: "no address".into(),
                })?;
            Ok(ListenAddr {
                addr: first,
                host: Some(host),
            })
        }
    }
}

impl From<SocketAddr> for ListenAddr {
    fn from(addr: SocketAddr) -> Self {
        ListenAddr { addr, host: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::auth::{check_bind, Service};

    fn ip(s: &str) -> Written {
        Written::Ip(s.parse().unwrap())
    }

    #[test]
    fn ip_literals_and_names_split() {
        assert_eq!(parse_written("127.0.0.1:7400"), Ok(ip("127.0.0.1:7400")));
        assert_eq!(parse_written("0.0.0.0:7400"), Ok(ip("0.0.0.0:7400")));
        assert_eq!(parse_written("[::1]:7400"), Ok(ip("[::1]:7400")));
        assert_eq!(parse_written("[::]:0"), Ok(ip("[::]:0")));
        assert_eq!(
            parse_written("localhost:7400"),
            Ok(Written::Name("localhost".into(), 7400))
        );
        assert_eq!(
            parse_written("Orin-01.lab.example:9464"),
            Ok(Written::Name("orin-01.lab.example".into(), 9464))
        );
    }

    #[test]
    fn bad_shapes_say_what_is_wrong() {
        assert_eq!(parse_written("7400"), Err(AddrError::Shape));
        assert_eq!(parse_written("localhost"), Err(AddrError::Shape));
        assert_eq!(parse_written(":7400"), Err(AddrError::NoHost(7400)));
        assert_eq!(
            parse_written("localhost:http"),
            Err(AddrError::Port("http".into()))
        );
        assert_eq!(
            parse_written("localhost:70000"),
            Err(AddrError::Port("70000".into()))
        );
        assert_eq!(
            parse_written("::1:7400"),
            Err(AddrError::Host("::1".into()))
        );
        assert_eq!(
            parse_written("[::1:7400"),
            Err(AddrError::Host("[::1".into()))
        );
        assert_eq!(
            parse_written("http://x:1"),
            Err(AddrError::Host("http://x".into()))
        );
        let e = AddrError::NoHost(7400).to_string();
        assert!(
            e.contains("127.0.0.1:7400") && e.contains("0.0.0.0:7400"),
            "{e}"
        );
    }

    #[test]
    fn localhost_resolves_to_loopback_and_passes_the_bind_check() {
        let a = parse_listen_addr("localhost:7400").unwrap();
        assert!(a.addr.ip().is_loopback(), "{a}");
        assert_eq!(a.addr.port(), 7400);
        assert_eq!(a.host.as_deref(), Some("localhost"));
        assert!(check_bind(Service::Mcp, a.addr, None).is_ok());
        // A literal keeps no name; every interface still needs a token.
        let any = parse_listen_addr("0.0.0.0:7400").unwrap();
        assert_eq!(any.host, None);
        assert!(check_bind(Service::Mcp, any.addr, None).is_err());
    }

    #[test]
    fn an_unknown_name_is_a_resolve_error() {
        // `.invalid` never resolves (RFC 2606).
        match parse_listen_addr("no-such-board.invalid:7400") {
            Err(AddrError::Resolve { host, .. }) => assert_eq!(host, "no-such-board.invalid"),
            other => panic!("{other:?}"),
        }
    }
}
