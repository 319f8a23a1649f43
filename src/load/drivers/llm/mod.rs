//! LLM inference endpoints (`[[llm]]`, `--llm-url`): OpenAI chat and
//! completions, Ollama chat. Request bodies are built once at start (one
//! per prompt: a fixed one, a JSONL file of message lists, or synthetic
//! words), sent in turn, and the reply read as a token stream
//! ([`stream`]) into one [`LlmSample`] per request: TTFT, inter-token
//! gaps, E2E, output tokens and where that count came from. Errors: an
//! HTTP status ≥ 400 (`http`, with the status), a bad or cut stream
//! (`stream`), no reply in time (`timeout`), no connection (`transport`).

pub(crate) mod stream;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use serde_json::{json, Value};

use stream::{parse_chunk, Frame, Framer, Tally};
pub use stream::{LlmApi, LlmSample, StreamError, TokenSource, UnknownApi};

use crate::load::stats::ErrorKind;

/// What each request asks.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptSource {
    /// One user message.
    Fixed(String),
    /// A JSONL file (the scenario resolves it against its own directory):
    /// each line an OpenAI `messages` array, or an object with `messages`
    /// (or `prompt`), sent in turn.
    File(PathBuf),
    /// `input_words` words of filler and exactly `output_tokens` asked for
    /// (`max_tokens`, with `ignore_eos` so the server does not stop early).
    Synthetic {
        input_words: usize,
        output_tokens: u32,
    },
}

/// One `[[llm]]` target.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmSpec {
    /// Row name in the per-tool tables.
    pub name: String,
    pub url: String,
    pub api: LlmApi,
    pub model: String,
    pub max_tokens: u32,
    pub prompt: PromptSource,
    /// Ask for a token stream (default); `false`: one JSON reply, TTFT = E2E.
    pub stream: bool,
    pub headers: Vec<(String, String)>,
}

/// Why the prompts could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("llm '{name}': cannot read {path}: {source}")]
    Read {
        name: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("llm '{name}': {path}:{line}: {why}")]
    Line {
        name: String,
        path: String,
        line: usize,
        #[source]
        why: LineError,
    },
    #[error("llm '{name}': {path} holds no prompt")]
    Empty { name: String, path: String },
    #[error("llm '{name}': bad url '{url}': {why}")]
    Url {
        name: String,
        url: String,
        why: String,
    },
}

/// Prompts kept from a JSONL file, at most.
pub const MAX_PROMPTS: usize = 10_000;

/// One request that failed: its kind and, for `http`, the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmFailure {
    pub kind: ErrorKind,
    pub status: Option<u16>,
    pub detail: String,
}

impl LlmFailure {
    fn of(kind: ErrorKind, detail: impl Into<String>) -> Self {
        LlmFailure {
            kind,
            status: None,
            detail: detail.into(),
        }
    }
}

/// The one connection-pooled `reqwest` client every LLM endpoint shares
/// (streamed replies; requests are few and long, so its per-request cost
/// does not matter as it does for the HTTP generator).
pub fn client(timeout: std::time::Duration, pool: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .pool_max_idle_per_host(pool)
        .build()?)
}

/// A ready LLM endpoint: its bodies built, one pooled client.
#[derive(Debug, Clone)]
pub struct LlmEndpoint {
    pub spec: Arc<LlmSpec>,
    client: reqwest::Client,
    bodies: Arc<Vec<Bytes>>,
    next: Arc<AtomicUsize>,
}

/// `n` words of filler, the same every time.
fn filler(n: usize) -> String {
    const WORDS: [&str; 16] = [
        "the", "board", "runs", "a", "model", "under", "load", "while", "its", "fan", "spins",
        "and", "memory", "fills", "slowly", "today",
    ];
    let mut s = String::with_capacity(n * 6);
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[(i * 7 + i / 16) % WORDS.len()]);
    }
    s
}

/// Why one line of a prompts file is not a prompt.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("`messages` is not an array")]
    MessagesNotArray,
    #[error("expected a messages array, or an object with `messages` or `prompt`")]
    NotAPrompt,
}

/// The messages of one JSONL line.
fn line_messages(line: &str) -> Result<Value, LineError> {
    match serde_json::from_str(line)? {
        v @ Value::Array(_) => Ok(v),
        Value::Object(mut o) => {
            if let Some(m) = o.remove("messages") {
                return if m.is_array() {
                    Ok(m)
                } else {
                    Err(LineError::MessagesNotArray)
                };
            }
            match o.remove("prompt") {
                Some(Value::String(p)) => Ok(json!([{"role": "user", "content": p}])),
                _ => Err(LineError::NotAPrompt),
            }
        }
        _ => Err(LineError::NotAPrompt),
    }
}

/// The prompts as message lists; pure but for reading the file.
pub fn prompts(spec: &LlmSpec) -> Result<Vec<Value>, PromptError> {
    match &spec.prompt {
        PromptSource::Fixed(p) => Ok(vec![json!([{"role": "user", "content": p}])]),
        PromptSource::Synthetic { input_words, .. } => Ok(vec![
            json!([{"role": "user", "content": filler(*input_words)}]),
        ]),
        PromptSource::File(path) => {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| PromptError::Read {
                name: spec.name.clone(),
                path: shown.clone(),
                source: e,
            })?;
            let mut out = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() || out.len() >= MAX_PROMPTS {
                    continue;
                }
                out.push(line_messages(line).map_err(|why| PromptError::Line {
                    name: spec.name.clone(),
                    path: shown.clone(),
                    line: i + 1,
                    why,
                })?);
            }
            if out.is_empty() {
                return Err(PromptError::Empty {
                    name: spec.name.clone(),
                    path: shown,
                });
            }
            Ok(out)
        }
    }
}

/// The request body for one prompt (pure).
pub fn body(spec: &LlmSpec, messages: &Value) -> Value {
    let (max_tokens, ignore_eos) = match spec.prompt {
        PromptSource::Synthetic { output_tokens, .. } => (output_tokens, true),
        _ => (spec.max_tokens, false),
    };
    let mut b = match spec.api {
        LlmApi::OpenaiChat => json!({
            "model": spec.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "stream": spec.stream,
        }),
        LlmApi::OpenaiCompletions => {
            let prompt: Vec<&str> = messages
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m.get("content").and_then(Value::as_str))
                .collect();
            json!({
                "model": spec.model,
                "prompt": prompt.join("\n"),
                "max_tokens": max_tokens,
                "stream": spec.stream,
            })
        }
        LlmApi::Ollama => json!({
            "model": spec.model,
            "messages": messages,
            "stream": spec.stream,
            "options": {"num_predict": max_tokens},
        }),
    };
    if spec.stream && spec.api != LlmApi::Ollama {
        b["stream_options"] = json!({"include_usage": true});
    }
    if ignore_eos {
        b["ignore_eos"] = json!(true);
    }
    b
}

impl LlmEndpoint {
    /// Build the bodies (reading a prompts file).
    pub fn new(spec: LlmSpec, client: reqwest::Client) -> Result<Self, PromptError> {
        reqwest::Url::parse(&spec.url).map_err(|e| PromptError::Url {
            name: spec.name.clone(),
            url: spec.url.clone(),
            why: e.to_string(),
        })?;
        let bodies = prompts(&spec)?
            .iter()
            .map(|m| Bytes::from(body(&spec, m).to_string()))
            .collect();
        Ok(LlmEndpoint {
            spec: Arc::new(spec),
            client,
            bodies: Arc::new(bodies),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Send the next prompt and read its reply.
    pub async fn call(&self) -> Result<LlmSample, LlmFailure> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.bodies.len().max(1);
        let body = self.bodies.get(i).cloned().unwrap_or_default();
        let accept = if self.spec.stream && self.spec.api != LlmApi::Ollama {
            "text/event-stream"
        } else {
            "application/json"
        };
        let mut req = self
            .client
            .post(&self.spec.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, accept)
            .body(body);
        for (k, v) in &self.spec.headers {
            req = req.header(k, v);
        }
        let sent = Instant::now();
        let mut resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                LlmFailure::of(ErrorKind::Timeout, "no reply in time")
            } else {
                LlmFailure::of(ErrorKind::Transport, e.to_string())
            }
        })?;
        let status = resp.status().as_u16();
        if status >= 400 {
            // Drain (bounded) so the connection goes back to the pool.
            let mut left = 64 * 1024usize;
            while let Ok(Some(c)) = resp.chunk().await {
                left = left.saturating_sub(c.len());
                if left == 0 {
                    break;
                }
            }
            return Err(LlmFailure {
                kind: ErrorKind::Http,
                status: Some(status),
                detail: format!("HTTP {status}"),
            });
        }
        let api = self.spec.api;
        let stream_err = |e: StreamError| LlmFailure::of(ErrorKind::Stream, e.to_string());
        let read_err = |e: reqwest::Error| {
            if e.is_timeout() {
                LlmFailure::of(ErrorKind::Timeout, "the reply stalled past the timeout")
            } else {
                LlmFailure::of(ErrorKind::Stream, format!("the stream broke: {e}"))
            }
        };
        let mut tally = Tally::default();
        if self.spec.stream {
            let mut framer = Framer::new(api);
            let mut frames = Vec::new();
            let mut done = false;
            while !done {
                let Some(c) = resp.chunk().await.map_err(read_err)? else {
                    break;
                };
                let at = sent.elapsed();
                framer.push(&c, &mut frames).map_err(stream_err)?;
                for f in frames.drain(..) {
                    tally.on_frame(api, at, &f).map_err(stream_err)?;
                    done |= f == Frame::Done;
                }
            }
            framer.finish(&mut frames).map_err(stream_err)?;
            let at = sent.elapsed();
            for f in frames.drain(..) {
                tally.on_frame(api, at, &f).map_err(stream_err)?;
            }
            tally.finish(true, sent.elapsed()).map_err(stream_err)
        } else {
            let mut buf = Vec::new();
            while let Some(c) = resp.chunk().await.map_err(read_err)? {
                if buf.len() + c.len() > stream::MAX_LINE {
                    return Err(stream_err(StreamError::LineTooLong));
                }
                buf.extend_from_slice(&c);
            }
            let ended = sent.elapsed();
            let c = parse_chunk(api, &String::from_utf8_lossy(&buf)).map_err(stream_err)?;
            tally.on_chunk(ended, &c);
            tally.finish(false, ended).map_err(stream_err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(api: LlmApi, prompt: PromptSource) -> LlmSpec {
        LlmSpec {
            name: "chat".into(),
            url: "http://127.0.0.1:8080/v1/chat/completions".into(),
            api,
            model: "local".into(),
            max_tokens: 64,
            prompt,
            stream: true,
            headers: Vec::new(),
        }
    }

    #[test]
    fn bodies_per_api() {
        let s = spec(LlmApi::OpenaiChat, PromptSource::Fixed("hi".into()));
        let m = &prompts(&s).unwrap()[0];
        let b = body(&s, m);
        assert_eq!(b["messages"][0]["content"], "hi");
        assert_eq!(b["max_tokens"], 64);
        assert_eq!(b["stream"], true);
        assert_eq!(b["stream_options"]["include_usage"], true);
        assert!(b.get("ignore_eos").is_none());

        let s = spec(
            LlmApi::OpenaiCompletions,
            PromptSource::Synthetic {
                input_words: 5,
                output_tokens: 16,
            },
        );
        let b = body(&s, &prompts(&s).unwrap()[0]);
        assert_eq!(b["prompt"].as_str().unwrap().split(' ').count(), 5);
        assert_eq!(
            (b["max_tokens"].as_u64(), b["ignore_eos"].as_bool()),
            (Some(16), Some(true))
        );

        let mut s = spec(LlmApi::Ollama, PromptSource::Fixed("hi".into()));
        s.stream = false;
        let b = body(&s, &prompts(&s).unwrap()[0]);
        assert_eq!(b["options"]["num_predict"], 64);
        assert!(b.get("stream_options").is_none());
    }

    #[test]
    fn a_prompt_file_is_read_line_by_line_with_errors_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.jsonl");
        std::fs::write(
            &f,
            "[{\"role\":\"user\",\"content\":\"a\"}]\n\n{\"prompt\":\"b\"}\n{\"messages\":[{\"role\":\"user\",\"content\":\"c\"}]}\n",
        )
        .unwrap();
        let s = spec(LlmApi::OpenaiChat, PromptSource::File(f.clone()));
        let p = prompts(&s).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[1][0]["content"], "b");
        std::fs::write(&f, "{\"prompt\":\"a\"}\n{\"oops\":1}\n").unwrap();
        let e = prompts(&s).unwrap_err().to_string();
        assert!(e.contains("p.jsonl:2:"), "{e}");
        std::fs::write(&f, "\n").unwrap();
        assert!(matches!(prompts(&s), Err(PromptError::Empty { .. })));
    }
}
