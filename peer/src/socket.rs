//! The peer's side of an accepted TCP connection, set up the way the service's would be.
//!
//! The peer's own frames go out at once (`TCP_NODELAY`, as the service sends them), and ACK timing
//! is left to the kernel, which delays an ACK by up to 40 ms when nothing goes back. A client with
//! Nagle's algorithm on then waits for those delayed ACKs before its next small write, as it would
//! against Azure; fe2o3-amqp 0.16.2 left Nagle on (fixed in `patches/fe2o3-amqp-0.16.2`).
//!
//! The quick-ACK knob ([`Faults::set_quick_ack`](crate::Faults::set_quick_ack)) acknowledges
//! every read at once instead (`TCP_QUICKACK`, which Linux clears after each ACK, so it is set
//! again after every read). It hides that wait, so it is for experiments only.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// An accepted TCP stream that never delays its small writes and, if asked, never delays its ACKs.
#[derive(Debug)]
pub(crate) struct AcceptedStream {
    stream: TcpStream,
    quick_ack: bool,
}

impl AcceptedStream {
    /// Wraps `stream`, turning Nagle's algorithm off for what the peer writes; with `quick_ack`,
    /// every read is acknowledged at once.
    pub fn new(stream: TcpStream, quick_ack: bool) -> io::Result<Self> {
        stream.set_nodelay(true)?;
        let stream = AcceptedStream { stream, quick_ack };
        stream.ack_now();
        Ok(stream)
    }

    fn ack_now(&self) {
        if self.quick_ack {
            // Best effort: a socket that refuses it only costs latency.
            let _ = SockRef::from(&self.stream).set_tcp_quickack(true);
        }
    }
}

impl AsyncRead for AcceptedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.ack_now();
        }
        polled
    }
}

impl AsyncWrite for AcceptedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
