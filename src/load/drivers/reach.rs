//! Why a session could not connect to its MCP target, in the words an
//! operator acts on ("connection refused — is the server running?") instead
//! of the transport's own text (`Send message error Transport
//! [rmcp::transport::worker::WorkerTransport<…>] error: Client error: …`).
//!
//! [`classify`] walks the error chain — `std::error::Error::source()`, plus
//! the rmcp wrappers that hold their inner error without naming it a source —
//! and downcasts to `reqwest::Error` and `std::io::Error`; [`words`] turns
//! the result into one line for the target's endpoint. Both are pure, so the
//! unit tests below feed them built errors.

use std::error::Error;
use std::io::ErrorKind as IoKind;
use std::path::Path;
use std::time::Duration;

use rmcp::service::ClientInitializeError;
use rmcp::transport::streamable_http_client::StreamableHttpError;

use crate::load::drivers::mcp::Endpoint;

/// The HTTP client transport's error, as rmcp's reqwest client gives it.
type HttpError = StreamableHttpError<reqwest::Error>;

/// What went wrong while connecting, reduced to what the operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Nothing listens on that port.
    Refused,
    /// No answer in time (TCP connect or the `initialize` reply).
    Timeout,
    /// The host name does not resolve.
    Dns,
    /// No route to the host or network.
    Unreachable,
    /// The peer reset or aborted the connection.
    Reset,
    /// A TLS handshake or certificate problem (the detail says which).
    Tls(String),
    /// An `https://` URL, and this build's HTTP client has no TLS.
    NoTls,
    /// The server answered with this HTTP status.
    Http(u16),
    /// The server answered, but not as an MCP server (the detail says how).
    NotMcp(String),
    /// The program to spawn does not exist.
    NoSuchProgram,
    /// The program exists but cannot be run.
    PermissionDenied,
    /// The connection (or the child's stdout) closed before `initialize` was answered.
    Closed,
    /// Anything else: the innermost message of the chain.
    Other(String),
}

/// The errors of a chain, outermost first. rmcp keeps some inner errors in
/// fields that are not `source()`s; those are followed by downcasting.
pub fn chain<'a>(err: &'a (dyn Error + 'static)) -> Vec<&'a (dyn Error + 'static)> {
    let mut out = vec![err];
    let mut cur = err;
    while let Some(next) = inner(cur) {
        if out.len() >= 32 {
            break;
        }
        out.push(next);
        cur = next;
    }
    out
}

fn inner<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a (dyn Error + 'static)> {
    if let Some(ClientInitializeError::TransportError { error, .. }) = e.downcast_ref() {
        return Some(error);
    }
    if let Some(HttpError::Client(c)) = e.downcast_ref::<HttpError>() {
        return Some(c);
    }
    e.source()
}

/// The failure an error chain describes.
pub fn classify(err: &(dyn Error + 'static)) -> Failure {
    let nodes = chain(err);
    // Most specific first: an HTTP answer, then the socket's own error.
    for e in &nodes {
        if let Some(f) = http_failure(*e) {
            return f;
        }
    }
    for e in &nodes {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(f) = io_failure(io) {
                return f;
            }
        }
    }
    for e in &nodes {
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            if let Some(s) = r.status() {
                return Failure::Http(s.as_u16());
            }
            if r.is_timeout() {
                return Failure::Timeout;
            }
            if r.is_dns() {
                return Failure::Dns;
            }
        }
    }
    let texts: Vec<String> = nodes.iter().map(|e| e.to_string().to_lowercase()).collect();
    if texts.iter().any(|t| t.contains("scheme is not http")) {
        return Failure::NoTls;
    }
    if let Some(t) = texts.iter().find(|t| {
        ["certificate", "tls", "ssl", "handshake"]
            .iter()
            .any(|k| t.contains(k))
    }) {
        return Failure::Tls(innermost_text(&nodes, t));
    }
    if texts.iter().any(|t| t.contains("dns error")) {
        return Failure::Dns;
    }
    for e in &nodes {
        if let Some(ie) = e.downcast_ref::<ClientInitializeError>() {
            match ie {
                ClientInitializeError::ConnectionClosed(_) => return Failure::Closed,
                ClientInitializeError::JsonRpcError(d) => {
                    return Failure::NotMcp(format!("initialize was refused: {}", d.message));
                }
                ClientInitializeError::ExpectedInitResponse(_)
                | ClientInitializeError::ExpectedInitResult(_)
                | ClientInitializeError::ConflictInitResponseId(..) => {
                    return Failure::NotMcp("its reply to initialize is not an MCP one".into());
                }
                _ => {}
            }
        }
    }
    Failure::Other(nodes.last().map(ToString::to_string).unwrap_or_default())
}

/// A TLS detail: the innermost message, which names the certificate problem.
fn innermost_text(nodes: &[&(dyn Error + 'static)], fallback: &str) -> String {
    nodes
        .last()
        .map_or_else(|| fallback.to_string(), ToString::to_string)
}

fn http_failure(e: &(dyn Error + 'static)) -> Option<Failure> {
    let h = e.downcast_ref::<HttpError>()?;
    Some(match h {
        HttpError::HttpStatus(s) => Failure::Http(s.status),
        HttpError::AuthRequired(_) => Failure::Http(401),
        HttpError::InsufficientScope(_) => Failure::Http(403),
        HttpError::ServerDoesNotSupportSse => Failure::Http(405),
        HttpError::UnexpectedServerResponse(msg) => match status_in(msg) {
            Some(code) => Failure::Http(code),
            None => Failure::NotMcp(short(msg)),
        },
        HttpError::UnexpectedContentType(ct) => Failure::NotMcp(match ct {
            Some(ct) => format!("it sent {ct}, not JSON or an event stream"),
            None => "it sent no content type".into(),
        }),
        HttpError::Deserialize(_) => Failure::NotMcp("its reply is not JSON-RPC".into()),
        HttpError::Io(io) => return io_failure(io),
        _ => return None,
    })
}

/// `HTTP 404 Not Found: …` → 404.
fn status_in(msg: &str) -> Option<u16> {
    let rest = msg.trim_start().strip_prefix("HTTP ")?;
    let code: String = rest.chars().take_while(char::is_ascii_digit).collect();
    code.parse().ok().filter(|c| (100..600).contains(c))
}

fn short(s: &str) -> String {
    const MAX: usize = 80;
    let s = s.trim();
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

fn io_failure(io: &std::io::Error) -> Option<Failure> {
    Some(match io.kind() {
        IoKind::ConnectionRefused => Failure::Refused,
        IoKind::TimedOut => Failure::Timeout,
        IoKind::NotFound => Failure::NoSuchProgram,
        IoKind::PermissionDenied => Failure::PermissionDenied,
        IoKind::HostUnreachable | IoKind::NetworkUnreachable | IoKind::AddrNotAvailable => {
            Failure::Unreachable
        }
        IoKind::ConnectionReset | IoKind::ConnectionAborted => Failure::Reset,
        IoKind::BrokenPipe | IoKind::UnexpectedEof => Failure::Closed,
        _ => {
            let t = io.to_string();
            if t.contains("failed to lookup address") || t.contains("Name or service not known") {
                Failure::Dns
            } else {
                return None;
            }
        }
    })
}

/// The host of a URL (`http://user@host:port/path` → `host`).
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = hostport.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    hostport.split(':').next().unwrap_or(hostport)
}

fn reason(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// The line an operator reads for `f` on `endpoint` (`timeout`: how long the
/// `initialize` reply was waited for; `log`: a stdio child's stderr log).
pub fn words(endpoint: &Endpoint, f: &Failure, timeout: Duration, log: Option<&Path>) -> String {
    let secs = timeout.as_secs_f64();
    match endpoint {
        Endpoint::Http { url } => http_words(url, f, secs),
        Endpoint::Stdio { program, .. } => {
            let p = program.display();
            match f {
                Failure::NoSuchProgram => {
                    format!("cannot start '{p}': no such file — check --target-cmd (is it on PATH?)")
                }
                Failure::PermissionDenied => {
                    format!("cannot start '{p}': permission denied — is it executable?")
                }
                Failure::Timeout => format!(
                    "'{p}' started but did not answer initialize within {secs:.0} s — is it an MCP server on stdio?"
                ),
                Failure::Closed | Failure::Reset => format!(
                    "'{p}' exited (or closed its stdout) before answering initialize — see its stderr{}",
                    log.map(|l| format!(" in {}", l.display())).unwrap_or_default()
                ),
                Failure::NotMcp(d) => format!("'{p}' does not speak MCP on stdio: {d}"),
                other => format!("'{p}': initialize failed: {}", detail(other)),
            }
        }
    }
}

fn http_words(url: &str, f: &Failure, secs: f64) -> String {
    const CHECK: &str = "check --target-url";
    match f {
        Failure::Refused => {
            format!("cannot reach {url}: connection refused — is the server running? {CHECK}")
        }
        Failure::Timeout => format!(
            "cannot reach {url}: no answer within {secs:.0} s — is the host up and the port open? {CHECK}"
        ),
        Failure::Dns => format!(
            "cannot reach {url}: host '{}' not found (DNS) — {CHECK}",
            host_of(url)
        ),
        Failure::Unreachable => format!(
            "cannot reach {url}: no route to the host — check the address and the network"
        ),
        Failure::Reset => format!(
            "cannot reach {url}: the connection was reset — is an HTTP server listening on that port?"
        ),
        Failure::Tls(d) => format!(
            "cannot reach {url}: TLS failed ({d}) — check the certificate, or use http:// for a plain server"
        ),
        Failure::NoTls => format!(
            "cannot reach {url}: this build of jetstress has no TLS — use http:// (a TLS-terminating proxy in front of the server, say)"
        ),
        Failure::Http(code @ (401 | 403)) => format!(
            "{url} answered HTTP {code} {} — the server wants credentials (jetstress sends none to MCP targets)",
            reason(*code)
        ),
        Failure::Http(404) => format!(
            "{url} answered HTTP 404 Not Found — no MCP endpoint at that path (often /mcp); {CHECK}"
        ),
        Failure::Http(code @ (405 | 406 | 415)) => format!(
            "{url} answered HTTP {code} {} — not a streamable-HTTP MCP endpoint; {CHECK}",
            reason(*code)
        ),
        Failure::Http(code) if *code >= 500 => format!(
            "{url} answered HTTP {code} {} — the server failed to initialize a session",
            reason(*code)
        ),
        Failure::Http(code) => format!("{url} answered HTTP {code} {}", reason(*code))
            .trim_end()
            .to_string(),
        Failure::NotMcp(d) => format!("{url} answered, but not as an MCP server: {d}"),
        Failure::Closed => {
            format!("{url} closed the connection before answering initialize")
        }
        Failure::NoSuchProgram | Failure::PermissionDenied | Failure::Other(_) => {
            format!("cannot connect to {url}: {}", detail(f))
        }
    }
}

fn detail(f: &Failure) -> String {
    match f {
        Failure::Refused => "connection refused".into(),
        Failure::Timeout => "timed out".into(),
        Failure::Dns => "host not found".into(),
        Failure::Unreachable => "no route to host".into(),
        Failure::Reset => "connection reset".into(),
        Failure::Tls(d) => format!("TLS: {d}"),
        Failure::NoTls => "no TLS in this build".into(),
        Failure::Http(c) => format!("HTTP {c} {}", reason(*c)).trim_end().to_string(),
        Failure::NotMcp(d) | Failure::Other(d) => d.clone(),
        Failure::NoSuchProgram => "no such file".into(),
        Failure::PermissionDenied => "permission denied".into(),
        Failure::Closed => "connection closed".into(),
    }
}

/// [`classify`] then [`words`].
pub fn describe(
    endpoint: &Endpoint,
    err: &(dyn Error + 'static),
    timeout: Duration,
    log: Option<&Path>,
) -> String {
    words(endpoint, &classify(err), timeout, log)
}

/// The connection of a failed request closed, in words.
pub const CLOSED: &str = "the connection closed";

/// A request the server answered with a JSON-RPC error, in words.
pub fn rpc_error_words(code: impl std::fmt::Display, message: &str) -> String {
    format!("the server answered error {code}: {message}")
}

/// A failed request after `initialize` (`tools/list`, say), in words: the
/// server's JSON-RPC error, or what happened to the connection.
pub fn request_words(e: &rmcp::ServiceError) -> String {
    match e {
        rmcp::ServiceError::McpError(d) => rpc_error_words(d.code.0, &d.message),
        rmcp::ServiceError::Timeout { timeout } => {
            format!("no reply within {:.0} s", timeout.as_secs_f64())
        }
        rmcp::ServiceError::TransportClosed => CLOSED.into(),
        other => detail(&classify(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::transport::streamable_http_client::{AuthRequiredError, HttpStatusError};
    use rmcp::transport::DynamicTransportError;

    const T: Duration = Duration::from_secs(30);

    fn http() -> Endpoint {
        Endpoint::Http {
            url: "http://127.0.0.1:1/mcp".into(),
        }
    }

    fn stdio(p: &str) -> Endpoint {
        Endpoint::Stdio {
            program: p.into(),
            args: vec![],
            env: vec![],
        }
    }

    /// An HTTP error wrapped as rmcp's `serve()` returns it.
    fn as_init(e: HttpError) -> ClientInitializeError {
        ClientInitializeError::TransportError {
            error: DynamicTransportError::from_parts(
                "rmcp::transport::worker::WorkerTransport<…>",
                std::any::TypeId::of::<HttpError>(),
                Box::new(e),
            ),
            context: "send initialize request".into(),
        }
    }

    #[derive(Debug)]
    struct Wrap(&'static str, Box<dyn Error + Send + Sync>);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl Error for Wrap {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(self.1.as_ref())
        }
    }

    #[test]
    fn a_refused_connection_through_rmcp_reads_as_refused() {
        let io = std::io::Error::from(IoKind::ConnectionRefused);
        let e = as_init(HttpError::Io(io));
        let text = describe(&http(), &e, T, None);
        assert_eq!(
            text,
            "cannot reach http://127.0.0.1:1/mcp: connection refused — is the server running? check --target-url"
        );
        assert!(!text.contains("rmcp"));
        // The same under plain `source()` links.
        let e = Wrap(
            "error sending request",
            Box::new(Wrap(
                "client error (Connect)",
                Box::new(std::io::Error::from(IoKind::ConnectionRefused)),
            )),
        );
        assert_eq!(classify(&e), Failure::Refused);
    }

    #[tokio::test]
    async fn a_real_reqwest_error_is_found_behind_the_client_variant() {
        // Port 1 on loopback: nothing listens.
        let r = reqwest::Client::new()
            .post("http://127.0.0.1:1/mcp")
            .send()
            .await
            .expect_err("nothing listens on port 1");
        let e = as_init(HttpError::Client(r));
        assert_eq!(classify(&e), Failure::Refused, "{:?}", chain(&e));
    }

    #[test]
    fn statuses_timeouts_dns_and_tls_have_their_words() {
        let e = as_init(HttpError::UnexpectedServerResponse(
            "HTTP 404 Not Found: ".into(),
        ));
        assert_eq!(classify(&e), Failure::Http(404));
        assert!(describe(&http(), &e, T, None)
            .contains("HTTP 404 Not Found — no MCP endpoint at that path"));
        let e = as_init(HttpError::AuthRequired(AuthRequiredError::new(
            "Bearer".into(),
        )));
        assert!(describe(&http(), &e, T, None)
            .contains("HTTP 401 Unauthorized — the server wants credentials"));
        let e = as_init(HttpError::HttpStatus(HttpStatusError::new(503, None)));
        assert_eq!(classify(&e), Failure::Http(503));
        assert_eq!(
            words(&http(), &Failure::Timeout, T, None),
            "cannot reach http://127.0.0.1:1/mcp: no answer within 30 s — is the host up and the port open? check --target-url"
        );
        let dns = Endpoint::Http {
            url: "http://nosuch.invalid:8080/mcp".into(),
        };
        let e = Wrap(
            "client error (Connect)",
            Box::new(Wrap(
                "dns error",
                Box::new(std::io::Error::other(
                    "failed to lookup address information: Name or service not known",
                )),
            )),
        );
        assert_eq!(classify(&e), Failure::Dns);
        assert_eq!(
            describe(&dns, &e, T, None),
            "cannot reach http://nosuch.invalid:8080/mcp: host 'nosuch.invalid' not found (DNS) — check --target-url"
        );
        let e = Wrap(
            "client error (Connect)",
            Box::new(std::io::Error::other(
                "invalid peer certificate: UnknownIssuer",
            )),
        );
        assert_eq!(
            classify(&e),
            Failure::Tls("invalid peer certificate: UnknownIssuer".into())
        );
        assert!(describe(&http(), &e, T, None).contains("TLS failed (invalid peer certificate"));
        let e = Wrap(
            "builder error",
            Box::new(Wrap(
                "invalid URL, scheme is not http",
                Box::new(std::fmt::Error),
            )),
        );
        assert_eq!(classify(&e), Failure::NoTls);
    }

    #[test]
    fn stdio_failures_name_the_program() {
        let e = std::io::Error::from(IoKind::NotFound);
        assert_eq!(
            describe(&stdio("foo"), &e, T, None),
            "cannot start 'foo': no such file — check --target-cmd (is it on PATH?)"
        );
        let e = ClientInitializeError::ConnectionClosed("initialize response".into());
        assert_eq!(classify(&e), Failure::Closed);
        assert!(describe(&stdio("false"), &e, T, None).starts_with("'false' exited"));
        assert!(words(&stdio("sleep"), &Failure::Timeout, T, None).contains("within 30 s"));
    }

    #[test]
    fn anything_else_keeps_the_innermost_message_only() {
        let e = as_init(HttpError::TransportChannelClosed);
        let text = describe(&http(), &e, T, None);
        assert_eq!(
            text,
            "cannot connect to http://127.0.0.1:1/mcp: Transport channel closed"
        );
        assert_eq!(host_of("https://u:p@[::1]:7400/mcp"), "::1");
        assert_eq!(host_of("http://board.local/mcp"), "board.local");
        assert_eq!(status_in("HTTP 401 Unauthorized: nope"), Some(401));
        assert_eq!(status_in("unexpected"), None);
    }
}
