//! One line of a stdio server's output, read as JSON-RPC 2.0: a response, a
//! request or notification from the server, JSON that is not a JSON-RPC
//! message, or noise that is not JSON at all. Also what a `tools/call`
//! result must look like. Pure: the raw client feeds it lines.

use serde_json::Value;

use super::outcome::Reply;

/// The longest text of a line quoted in a finding.
const QUOTE: usize = 120;

/// One message (or line) from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A response: its id and its `result` (`Ok`) or `error` (`Err`).
    Response {
        id: Value,
        body: Result<Value, RpcError>,
    },
    /// A request from the server to the client.
    Request { id: Value, method: String },
    /// A notification from the server (logging, progress, list changes).
    Notification { method: String },
    /// Valid JSON that is not a JSON-RPC 2.0 message: why.
    Malformed(String),
    /// A line that is not JSON: the start of it.
    Noise(String),
}

/// A JSON-RPC `error` object.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

/// The start of a line, for quoting.
pub fn quote(text: &str) -> String {
    let t = text.trim_end();
    if t.chars().count() > QUOTE {
        let head: String = t.chars().take(QUOTE).collect();
        format!("{head}…")
    } else {
        t.to_string()
    }
}

/// Read one line. A batch (an array) gives one message per element.
pub fn parse_line(line: &[u8]) -> Vec<Incoming> {
    let text = String::from_utf8_lossy(line);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    match serde_json::from_str::<Value>(trimmed) {
        Err(_) => vec![Incoming::Noise(quote(trimmed))],
        Ok(Value::Array(items)) if !items.is_empty() => items.iter().map(message).collect(),
        Ok(v) => vec![message(&v)],
    }
}

fn message(v: &Value) -> Incoming {
    let bad = |why: &str| Incoming::Malformed(format!("{why}: {}", quote(&v.to_string())));
    let Some(o) = v.as_object() else {
        return bad("not a JSON-RPC object");
    };
    if o.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return bad("jsonrpc is not \"2.0\"");
    }
    let id = o.get("id");
    if let Some(id) = id {
        if !(id.is_string() || id.is_number() || id.is_null()) {
            return bad("an id that is neither a string, a number nor null");
        }
    }
    if let Some(m) = o.get("method") {
        let Some(method) = m.as_str() else {
            return bad("a method that is not a string");
        };
        return match id {
            Some(id) if !id.is_null() => Incoming::Request {
                id: id.clone(),
                method: method.to_string(),
            },
            _ => Incoming::Notification {
                method: method.to_string(),
            },
        };
    }
    // MCP 2026-07-28 (§Error Responses) omits the id of an error for a
    // request whose id could not be read; JSON-RPC writes it `null`. Both
    // are the same answer.
    let null = Value::Null;
    let id = match id {
        Some(id) => id,
        None if o.contains_key("error") && !o.contains_key("result") => &null,
        None => return bad("neither a method nor an id"),
    };
    match (o.get("result"), o.get("error")) {
        (Some(r), None) => Incoming::Response {
            id: id.clone(),
            body: Ok(r.clone()),
        },
        (None, Some(e)) => {
            let code = e.get("code").and_then(Value::as_i64);
            let message = e.get("message").and_then(Value::as_str);
            match (code, message) {
                (Some(code), Some(message)) => Incoming::Response {
                    id: id.clone(),
                    body: Err(RpcError {
                        code,
                        message: message.to_string(),
                    }),
                },
                _ => bad("an error without an integer code and a message"),
            }
        }
        (Some(_), Some(_)) => bad("both a result and an error"),
        (None, None) => bad("a response with neither a result nor an error"),
    }
}

/// A short account of a tool result's content, for details.
fn summary(result: &Value) -> String {
    let content = result.get("content").and_then(Value::as_array);
    let first_text = content
        .and_then(|c| c.iter().find_map(|b| b.get("text").and_then(Value::as_str)))
        .map(quote);
    match (first_text, content.map_or(0, Vec::len)) {
        (Some(t), _) => format!("text: {t}"),
        (None, 0) if result.get("structuredContent").is_some() => "structured content".to_string(),
        (None, n) => format!("{n} content block(s)"),
    }
}

/// A `tools/call` response as a [`Reply`]: an error, or a result that must
/// be an object with a `content` array (or only `structuredContent`) and a
/// boolean `isError` if it has one.
pub fn tool_reply(body: &Result<Value, RpcError>) -> Reply {
    match body {
        Err(e) => Reply::Error {
            code: e.code,
            message: quote(&e.message),
        },
        Ok(r) => {
            let Some(o) = r.as_object() else {
                return Reply::Malformed(format!(
                    "a tools/call result that is not an object: {}",
                    quote(&r.to_string())
                ));
            };
            let is_error = match o.get("isError") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    return Reply::Malformed(format!("isError is not a boolean: {other}"));
                }
            };
            let content_ok = match o.get("content") {
                Some(Value::Array(_)) => true,
                None => o.contains_key("structuredContent"),
                Some(_) => false,
            };
            if !content_ok {
                return Reply::Malformed(format!(
                    "a tools/call result without a content array: {}",
                    quote(&r.to_string())
                ));
            }
            Reply::Result {
                is_error,
                summary: summary(r),
            }
        }
    }
}

/// Any other response as a [`Reply`] (its result is not inspected).
pub fn plain_reply(body: &Result<Value, RpcError>) -> Reply {
    match body {
        Err(e) => Reply::Error {
            code: e.code,
            message: quote(&e.message),
        },
        Ok(r) => Reply::Result {
            is_error: false,
            summary: quote(&r.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn one(line: &str) -> Incoming {
        let mut v = parse_line(line.as_bytes());
        assert_eq!(v.len(), 1, "{line}");
        v.remove(0)
    }

    #[test]
    fn lines_are_read_as_messages_or_noise() {
        assert_eq!(
            one(r#"{"jsonrpc":"2.0","id":3,"result":{}}"#),
            Incoming::Response {
                id: json!(3),
                body: Ok(json!({}))
            }
        );
        assert_eq!(
            one(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#),
            Incoming::Response {
                id: Value::Null,
                body: Err(RpcError {
                    code: -32700,
                    message: "Parse error".into()
                })
            }
        );
        assert_eq!(
            one(r#"{"jsonrpc":"2.0","id":"a","method":"roots/list"}"#),
            Incoming::Request {
                id: json!("a"),
                method: "roots/list".into()
            }
        );
        assert_eq!(
            one(r#"{"jsonrpc":"2.0","method":"notifications/message","params":{}}"#),
            Incoming::Notification {
                method: "notifications/message".into()
            }
        );
        assert_eq!(
            one("Server listening on stdio"),
            Incoming::Noise("Server listening on stdio".into())
        );
        assert!(parse_line(b"  \r\n").is_empty());
        // An error without an id (MCP 2026-07-28) is an error with id null.
        assert_eq!(
            one(r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid request"}}"#),
            Incoming::Response {
                id: Value::Null,
                body: Err(RpcError {
                    code: -32600,
                    message: "Invalid request".into()
                })
            }
        );
        let batch = parse_line(
            br#"[{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","id":2,"result":{}}]"#,
        );
        assert_eq!(batch.len(), 2);
        for (line, why) in [
            (r#"{"id":1,"result":{}}"#, "jsonrpc is not \"2.0\""),
            (
                r#"{"jsonrpc":"2.0","id":1}"#,
                "a response with neither a result nor an error",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{}}"#,
                "both a result and an error",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}"#,
                "an error without",
            ),
            (
                r#"{"jsonrpc":"2.0","id":[1],"result":{}}"#,
                "an id that is neither",
            ),
            (r#"{"jsonrpc":"2.0"}"#, "neither a method nor an id"),
            ("42", "not a JSON-RPC object"),
        ] {
            match one(line) {
                Incoming::Malformed(w) => assert!(w.starts_with(why), "{line}: {w}"),
                other => panic!("{line}: {other:?}"),
            }
        }
        let long = format!("noise {}", "y".repeat(500));
        match one(&long) {
            Incoming::Noise(q) => assert_eq!(q.chars().count(), QUOTE + 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tool_results_must_have_content() {
        let r = tool_reply(&Ok(json!({"content": [{"type": "text", "text": "hi"}]})));
        assert_eq!(
            r,
            Reply::Result {
                is_error: false,
                summary: "text: hi".into()
            }
        );
        let r = tool_reply(&Ok(json!({"content": [], "isError": true})));
        assert!(matches!(r, Reply::Result { is_error: true, .. }));
        assert!(matches!(
            tool_reply(&Ok(json!({"structuredContent": {"a": 1}}))),
            Reply::Result {
                is_error: false,
                ..
            }
        ));
        for bad in [
            json!([]),
            json!({}),
            json!({"content": "x"}),
            json!({"content": [], "isError": "yes"}),
        ] {
            assert!(
                matches!(tool_reply(&Ok(bad.clone())), Reply::Malformed(_)),
                "{bad}"
            );
        }
        let e = tool_reply(&Err(RpcError {
            code: -32602,
            message: "nope".into(),
        }));
        assert_eq!(
            e,
            Reply::Error {
                code: -32602,
                message: "nope".into()
            }
        );
    }
}
