//! The stdio transport: rmcp's non-blocking pipes, with the end of the
//! client's input noticed, so calls still in flight (a long `sleep_ms`) stop at
//! once when the client goes instead of running out rmcp's drain period.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::sync::CancellationToken;

/// An [`AsyncRead`] that cancels `eof` when its inner reader ends or fails.
#[derive(Debug)]
pub struct EofNotify<R> {
    inner: R,
    eof: CancellationToken,
}

impl<R> EofNotify<R> {
    pub fn new(inner: R, eof: CancellationToken) -> Self {
        EofNotify { inner, eof }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for EofNotify<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let asked = buf.remaining() > 0;
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        match &r {
            Poll::Ready(Ok(())) if asked && buf.filled().len() == before => self.eof.cancel(),
            Poll::Ready(Err(_)) => self.eof.cancel(),
            _ => {}
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn cancels_on_end_of_input_only() {
        let eof = CancellationToken::new();
        let mut r = EofNotify::new(&b"abc"[..], eof.clone());
        let mut buf = [0u8; 2];
        assert_eq!(r.read(&mut buf).await.unwrap(), 2);
        assert!(!eof.is_cancelled());
        assert_eq!(r.read(&mut buf).await.unwrap(), 1);
        assert!(!eof.is_cancelled());
        assert_eq!(r.read(&mut buf).await.unwrap(), 0);
        assert!(eof.is_cancelled());
    }
}
