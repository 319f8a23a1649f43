//! Token streams from LLM servers, parsed (pure: bytes and times in, one
//! request's figures out). Framing: server-sent events (`data:` lines, an
//! event ends at a blank line, `data: [DONE]` ends the stream) for the
//! OpenAI APIs, newline-delimited JSON for Ollama. Each payload is read for
//! what the timing needs — does it carry content (a role-only first chunk
//! is not a token), does it finish, the `usage`, the server's own counters
//! (llama.cpp `timings.predicted_n`, Ollama `eval_count`), an error — and a
//! [`Tally`] turns a request's chunks into TTFT, the inter-token gaps, E2E
//! and the output tokens with where that count came from.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The request/response shape an LLM endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LlmApi {
    /// `POST /v1/chat/completions` (`choices[0].delta.content`).
    #[default]
    OpenaiChat,
    /// `POST /v1/completions` (`choices[0].text`).
    OpenaiCompletions,
    /// `POST /api/chat` (NDJSON, `message.content`, `done`, `eval_count`).
    Ollama,
}

impl LlmApi {
    pub fn as_str(self) -> &'static str {
        match self {
            LlmApi::OpenaiChat => "openai-chat",
            LlmApi::OpenaiCompletions => "openai-completions",
            LlmApi::Ollama => "ollama",
        }
    }
}

/// An `api` name that is none of [`LlmApi`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an LLM API (openai-chat, openai-completions, ollama)")]
pub struct UnknownApi(pub String);

impl std::str::FromStr for LlmApi {
    type Err = UnknownApi;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            LlmApi::OpenaiChat,
            LlmApi::OpenaiCompletions,
            LlmApi::Ollama,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
        .ok_or_else(|| UnknownApi(s.to_string()))
    }
}

/// Why a stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("a stream line is longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("a stream event is not JSON: {0}")]
    NotJson(String),
    #[error("the server sent an error in the stream: {0}")]
    ServerError(String),
    #[error("the stream ended before [DONE] or a finish_reason")]
    Cut,
    #[error("the stream carried no content and no token count")]
    Empty,
}

/// The longest line (or SSE event) kept while framing.
pub const MAX_LINE: usize = 1 << 20;
/// Inter-token gaps kept per request (one per content chunk after the first).
pub const MAX_GAPS: usize = 8192;

/// One payload from the stream, framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A JSON payload (an SSE event's data or an NDJSON line).
    Data(String),
    /// `data: [DONE]`.
    Done,
}

/// Splits a byte stream into [`Frame`]s: SSE for the OpenAI APIs, NDJSON
/// for Ollama. Holds at most one partial line and one partial event.
#[derive(Debug)]
pub struct Framer {
    sse: bool,
    line: Vec<u8>,
    data: String,
}

impl Framer {
    pub fn new(api: LlmApi) -> Self {
        Framer {
            sse: api != LlmApi::Ollama,
            line: Vec::new(),
            data: String::new(),
        }
    }

    /// Feed bytes; complete frames are pushed to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Frame>) -> Result<(), StreamError> {
        for &b in bytes {
            if b == b'\n' {
                let line = std::mem::take(&mut self.line);
                self.line_done(&line, out)?;
                self.line = line;
                self.line.clear();
            } else {
                if self.line.len() >= MAX_LINE {
                    return Err(StreamError::LineTooLong);
                }
                self.line.push(b);
            }
        }
        Ok(())
    }

    /// The body ended: a last line without its newline still counts.
    pub fn finish(&mut self, out: &mut Vec<Frame>) -> Result<(), StreamError> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, out)?;
        }
        if self.sse {
            self.event_done(out);
        }
        Ok(())
    }

    fn line_done(&mut self, line: &[u8], out: &mut Vec<Frame>) -> Result<(), StreamError> {
        let line = String::from_utf8_lossy(line);
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if !self.sse {
            if !line.trim().is_empty() {
                out.push(Frame::Data(line.to_string()));
            }
            return Ok(());
        }
        if line.is_empty() {
            self.event_done(out);
        } else if let Some(d) = line.strip_prefix("data:") {
            let d = d.strip_prefix(' ').unwrap_or(d);
            if self.data.len() + d.len() > MAX_LINE {
                return Err(StreamError::LineTooLong);
            }
            if !self.data.is_empty() {
                self.data.push('\n');
            }
            self.data.push_str(d);
        }
        // `event:`, `id:`, `retry:` and `:` comments carry nothing we time.
        Ok(())
    }

    fn event_done(&mut self, out: &mut Vec<Frame>) {
        if self.data.is_empty() {
            return;
        }
        let data = std::mem::take(&mut self.data);
        if data.trim() == "[DONE]" {
            out.push(Frame::Done);
        } else {
            out.push(Frame::Data(data));
        }
    }
}

/// What one payload says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk {
    /// It carries non-empty generated text.
    pub content: bool,
    /// It carries a `finish_reason` (or Ollama's `done: true`).
    pub finish: bool,
    pub usage_output: Option<u64>,
    pub usage_prompt: Option<u64>,
    /// The server's own counters: llama.cpp `timings`, Ollama `eval_count`.
    pub server_output: Option<u64>,
    pub server_prompt: Option<u64>,
}

fn count(v: &Value, path: &[&str]) -> Option<u64> {
    let mut v = v;
    for p in path {
        v = v.get(*p)?;
    }
    v.as_u64()
}

fn non_empty(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str).is_some_and(|s| !s.is_empty())
}

/// Read one JSON payload of `api`'s stream (or a whole non-streamed reply).
pub fn parse_chunk(api: LlmApi, text: &str) -> Result<Chunk, StreamError> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        let mut shown: String = text.chars().take(80).collect();
        if shown.len() < text.len() {
            shown.push('…');
        }
        StreamError::NotJson(format!("{e} in {shown:?}"))
    })?;
    if let Some(e) = v.get("error") {
        let msg = e
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| e.to_string(), str::to_string);
        return Err(StreamError::ServerError(msg));
    }
    let mut c = Chunk {
        usage_output: count(&v, &["usage", "completion_tokens"]),
        usage_prompt: count(&v, &["usage", "prompt_tokens"]),
        server_output: count(&v, &["timings", "predicted_n"]),
        server_prompt: count(&v, &["timings", "prompt_n"]),
        ..Chunk::default()
    };
    match api {
        LlmApi::OpenaiChat | LlmApi::OpenaiCompletions => {
            if let Some(choice) = v
                .get("choices")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
            {
                c.content = match api {
                    LlmApi::OpenaiChat => {
                        non_empty(choice.pointer("/delta/content"))
                            || non_empty(choice.pointer("/message/content"))
                            || non_empty(choice.pointer("/delta/reasoning_content"))
                    }
                    _ => non_empty(choice.get("text")),
                };
                c.finish = choice.get("finish_reason").is_some_and(|f| !f.is_null());
            }
        }
        LlmApi::Ollama => {
            c.content = non_empty(v.pointer("/message/content")) || non_empty(v.get("response"));
            c.finish = v.get("done").and_then(Value::as_bool) == Some(true);
            c.server_output = count(&v, &["eval_count"]).or(c.server_output);
            c.server_prompt = count(&v, &["prompt_eval_count"]).or(c.server_prompt);
        }
    }
    Ok(c)
}

/// Where a request's output-token count came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// `usage.completion_tokens`.
    Usage,
    /// The server's own counters (`timings.predicted_n`, `eval_count`).
    Server,
    /// Content chunks counted (one token per chunk assumed).
    Chunks,
}

impl TokenSource {
    pub const ALL: [TokenSource; 3] =
        [TokenSource::Usage, TokenSource::Server, TokenSource::Chunks];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Usage => "usage",
            TokenSource::Server => "server",
            TokenSource::Chunks => "chunks",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// One finished request's figures, times from the actual send.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmSample {
    /// To the first content chunk (E2E for a non-streamed reply).
    pub first_token: Duration,
    /// To the last content chunk (the reply's end when not streamed).
    pub last_token: Duration,
    /// Gaps between consecutive content chunks, µs (at most [`MAX_GAPS`]).
    pub gaps_us: Vec<u32>,
    pub output_tokens: u64,
    pub prompt_tokens: Option<u64>,
    pub source: TokenSource,
    /// Two token counts differ by more than 5 %.
    pub mismatch: bool,
    pub streamed: bool,
}

impl LlmSample {
    /// Time per output token after the first: (E2E − TTFT) / (tokens − 1);
    /// streams only (a single reply has no time between tokens).
    pub fn tpot(&self) -> Option<Duration> {
        (self.streamed && self.output_tokens > 1).then(|| {
            self.last_token.saturating_sub(self.first_token) / (self.output_tokens - 1) as u32
        })
    }
}

/// A request's chunks as they come.
#[derive(Debug, Default)]
pub struct Tally {
    first: Option<Duration>,
    last: Option<Duration>,
    chunks: u64,
    gaps_us: Vec<u32>,
    usage_output: Option<u64>,
    usage_prompt: Option<u64>,
    server_output: Option<u64>,
    server_prompt: Option<u64>,
    finished: bool,
    done: bool,
}

impl Tally {
    /// A frame arrived `at` after the send.
    pub fn on_frame(&mut self, api: LlmApi, at: Duration, f: &Frame) -> Result<(), StreamError> {
        match f {
            Frame::Done => {
                self.done = true;
                Ok(())
            }
            Frame::Data(text) => {
                let c = parse_chunk(api, text)?;
                self.on_chunk(at, &c);
                Ok(())
            }
        }
    }

    pub fn on_chunk(&mut self, at: Duration, c: &Chunk) {
        if c.content {
            self.chunks += 1;
            match self.last {
                None => self.first = Some(at),
                Some(prev) if self.gaps_us.len() < MAX_GAPS => {
                    let gap = at
                        .saturating_sub(prev)
                        .as_micros()
                        .min(u128::from(u32::MAX));
                    self.gaps_us.push(gap as u32);
                }
                Some(_) => {}
            }
            self.last = Some(at);
        }
        self.finished |= c.finish;
        self.usage_output = c.usage_output.or(self.usage_output);
        self.usage_prompt = c.usage_prompt.or(self.usage_prompt);
        self.server_output = c.server_output.or(self.server_output);
        self.server_prompt = c.server_prompt.or(self.server_prompt);
    }

    /// The stream is over (`ended` after the send). A stream must have ended
    /// with `[DONE]` or a finish (Ollama: `done`). One without content is an
    /// empty answer (the model's first token was its end: llama.cpp then
    /// counts that one token) when the server gave a finish or a count, its
    /// TTFT and E2E the stream's end; with neither it is an error.
    pub fn finish(self, streamed: bool, ended: Duration) -> Result<LlmSample, StreamError> {
        if streamed && !(self.done || self.finished) {
            return Err(StreamError::Cut);
        }
        let counted = self.usage_output.is_some() || self.server_output.is_some();
        let (first, last) = match (self.first, self.last) {
            (Some(f), Some(l)) if streamed => (f, l),
            _ if !streamed => (ended, ended),
            _ if self.finished || counted => (ended, ended),
            _ => return Err(StreamError::Empty),
        };
        let chunks = (self.chunks > 0 && streamed).then_some(self.chunks);
        let (output_tokens, source) = match (self.usage_output, self.server_output, chunks) {
            (Some(u), _, _) => (u, TokenSource::Usage),
            (None, Some(s), _) => (s, TokenSource::Server),
            (None, None, Some(c)) => (c, TokenSource::Chunks),
            (None, None, None) => (0, TokenSource::Chunks),
        };
        let counts: Vec<u64> = [self.usage_output, self.server_output, chunks]
            .into_iter()
            .flatten()
            .collect();
        // One apart is no mismatch: servers count the end-of-sequence token
        // that no chunk carries.
        let mismatch = counts.iter().any(|a| {
            counts.iter().any(|b| {
                let d = a.abs_diff(*b);
                d > 1 && d as f64 > 0.05 * (*a.max(b)) as f64
            })
        });
        Ok(LlmSample {
            first_token: first,
            last_token: last,
            gaps_us: self.gaps_us,
            output_tokens,
            prompt_tokens: self.usage_prompt.or(self.server_prompt),
            source,
            mismatch,
            streamed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(api: LlmApi, parts: &[&str]) -> Result<Vec<Frame>, StreamError> {
        let mut f = Framer::new(api);
        let mut out = Vec::new();
        for p in parts {
            f.push(p.as_bytes(), &mut out)?;
        }
        f.finish(&mut out)?;
        Ok(out)
    }

    const CHAT: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n\
: keep-alive comment\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],\"timings\":{\"predicted_n\":2,\"prompt_n\":7}}\n\n\
data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2,\"total_tokens\":9}}\n\n\
data: [DONE]\n\n";

    #[test]
    fn sse_frames_survive_any_split_and_crlf() {
        let whole = frames(LlmApi::OpenaiChat, &[CHAT]).unwrap();
        assert_eq!(whole.len(), 6);
        assert_eq!(whole.last(), Some(&Frame::Done));
        // Byte by byte, and with CRLF line ends, the frames are the same.
        let bytes: Vec<String> = CHAT.chars().map(String::from).collect();
        let split: Vec<&str> = bytes.iter().map(String::as_str).collect();
        assert_eq!(frames(LlmApi::OpenaiChat, &split).unwrap(), whole);
        let crlf = CHAT.replace('\n', "\r\n");
        assert_eq!(frames(LlmApi::OpenaiChat, &[&crlf]).unwrap(), whole);
        // Multi-line data joins with a newline.
        let f = frames(LlmApi::OpenaiChat, &["data: {\"a\":\ndata: 1}\n\n"]).unwrap();
        assert_eq!(f, vec![Frame::Data("{\"a\":\n1}".into())]);
    }

    #[test]
    fn a_role_only_first_chunk_is_not_a_token() {
        let mut t = Tally::default();
        for (i, f) in frames(LlmApi::OpenaiChat, &[CHAT])
            .unwrap()
            .iter()
            .enumerate()
        {
            t.on_frame(
                LlmApi::OpenaiChat,
                Duration::from_millis(100 * (i as u64 + 1)),
                f,
            )
            .unwrap();
        }
        let s = t.finish(true, Duration::from_millis(700)).unwrap();
        // Frame 1 (role only) at 100 ms is skipped: the first token is at 200 ms.
        assert_eq!(s.first_token, Duration::from_millis(200));
        assert_eq!(s.last_token, Duration::from_millis(300));
        assert_eq!(s.gaps_us, vec![100_000]);
        assert_eq!((s.output_tokens, s.source), (2, TokenSource::Usage));
        assert_eq!(s.prompt_tokens, Some(7));
        assert!(!s.mismatch);
        assert_eq!(s.tpot(), Some(Duration::from_millis(100)));
    }

    #[test]
    fn token_sources_fall_back_and_mismatches_are_seen() {
        let chunk = |content: bool| Chunk {
            content,
            ..Chunk::default()
        };
        let mut t = Tally::default();
        for i in 0..10 {
            t.on_chunk(Duration::from_millis(i), &chunk(true));
        }
        t.on_chunk(
            Duration::from_millis(10),
            &Chunk {
                finish: true,
                server_output: Some(20),
                ..Chunk::default()
            },
        );
        let s = t.finish(true, Duration::from_millis(11)).unwrap();
        // No usage: the server's counter wins; 10 chunks vs 20 tokens is a mismatch.
        assert_eq!((s.output_tokens, s.source), (20, TokenSource::Server));
        assert!(s.mismatch);

        let mut t = Tally::default();
        t.on_chunk(Duration::ZERO, &chunk(true));
        t.on_chunk(
            Duration::from_millis(1),
            &Chunk {
                content: true,
                finish: true,
                ..Chunk::default()
            },
        );
        let s = t.finish(true, Duration::from_millis(2)).unwrap();
        assert_eq!((s.output_tokens, s.source), (2, TokenSource::Chunks));
        assert!(!s.mismatch);

        // usage one above the chunks (the EOS token) is no mismatch.
        let mut t = Tally::default();
        for i in 0..3 {
            t.on_chunk(Duration::from_millis(i), &chunk(true));
        }
        t.on_chunk(
            Duration::from_millis(3),
            &Chunk {
                finish: true,
                usage_output: Some(4),
                ..Chunk::default()
            },
        );
        assert!(!t.finish(true, Duration::from_millis(4)).unwrap().mismatch);
    }

    #[test]
    fn cut_empty_and_bad_streams_are_errors_not_panics() {
        let mut t = Tally::default();
        t.on_chunk(
            Duration::ZERO,
            &Chunk {
                content: true,
                ..Chunk::default()
            },
        );
        assert_eq!(
            t.finish(true, Duration::ZERO).unwrap_err(),
            StreamError::Cut
        );
        let mut t = Tally::default();
        t.on_frame(LlmApi::OpenaiChat, Duration::ZERO, &Frame::Done)
            .unwrap();
        assert_eq!(
            t.finish(true, Duration::ZERO).unwrap_err(),
            StreamError::Empty
        );
        // An answer that is only its end (llama.cpp: role chunk, finish, usage 1) is no error.
        let mut t = Tally::default();
        let eos_only =
            "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n\
data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
data: {\"choices\":[],\"usage\":{\"completion_tokens\":1,\"prompt_tokens\":5}}\n\ndata: [DONE]\n\n";
        for f in frames(LlmApi::OpenaiChat, &[eos_only]).unwrap() {
            t.on_frame(LlmApi::OpenaiChat, Duration::from_millis(30), &f)
                .unwrap();
        }
        let s = t.finish(true, Duration::from_millis(31)).unwrap();
        assert_eq!((s.output_tokens, s.source), (1, TokenSource::Usage));
        assert_eq!(s.first_token, Duration::from_millis(31));
        assert!(s.gaps_us.is_empty() && !s.mismatch);
        assert!(matches!(
            parse_chunk(LlmApi::OpenaiChat, "<html>502 Bad Gateway</html>"),
            Err(StreamError::NotJson(m)) if m.contains("<html>")
        ));
        assert_eq!(
            parse_chunk(
                LlmApi::OpenaiChat,
                r#"{"error":{"message":"model overloaded"}}"#
            ),
            Err(StreamError::ServerError("model overloaded".into()))
        );
        let long = "x".repeat(MAX_LINE + 1);
        assert_eq!(
            frames(LlmApi::OpenaiChat, &[&long]).unwrap_err(),
            StreamError::LineTooLong
        );
    }

    #[test]
    fn a_reply_that_is_not_streamed_has_ttft_equal_to_e2e() {
        let mut t = Tally::default();
        let c = parse_chunk(
            LlmApi::OpenaiChat,
            r#"{"choices":[{"message":{"role":"assistant","content":"hi there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
        )
        .unwrap();
        t.on_chunk(Duration::from_millis(40), &c);
        let s = t.finish(false, Duration::from_millis(50)).unwrap();
        assert_eq!(
            (s.first_token, s.last_token),
            (Duration::from_millis(50), Duration::from_millis(50))
        );
        assert_eq!(s.output_tokens, 2);
        assert!(s.gaps_us.is_empty());
    }

    #[test]
    fn completions_and_ollama_shapes() {
        let c = parse_chunk(
            LlmApi::OpenaiCompletions,
            r#"{"choices":[{"text":" world","finish_reason":null}]}"#,
        )
        .unwrap();
        assert!(c.content && !c.finish);
        let lines = frames(
            LlmApi::Ollama,
            &["{\"message\":{\"content\":\"a\"},\"done\":false}\n{\"message\":{\"content\":\"\"},\"done\":true,\"eval_count\":5,\"prompt_eval_count\":3}\n"],
        )
        .unwrap();
        assert_eq!(lines.len(), 2);
        let mut t = Tally::default();
        for (i, f) in lines.iter().enumerate() {
            t.on_frame(LlmApi::Ollama, Duration::from_millis(i as u64), f)
                .unwrap();
        }
        let s = t.finish(true, Duration::from_millis(2)).unwrap();
        assert_eq!((s.output_tokens, s.source), (5, TokenSource::Server));
        assert_eq!(s.prompt_tokens, Some(3));
    }
}
