//! The peer's side of the TCP connection, tuned so a client's small frames are not held back.
//!
//! Neither fe2o3-amqp nor the Event Hubs SDK sets `TCP_NODELAY`, so the client's kernel holds a
//! second small write (the transfer for another partition, say) until the first is acknowledged
//! (Nagle), and a receiver that delays its acknowledgement (the Linux default) turns every such
//! pair into a wait of up to 40 ms: on loopback, transfers to different partitions would go out one
//! after another instead of together. The peer therefore sends its own frames at once
//! (`TCP_NODELAY`) and acknowledges every read at once (`TCP_QUICKACK`, which Linux clears after
//! each acknowledgement, so it is set again after every read).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP stream that never delays its acknowledgements or its small writes.
#[derive(Debug)]
pub(crate) struct QuickAck(TcpStream);

impl QuickAck {
    /// Wraps `stream`, turning Nagle's algorithm off for what the peer writes.
    pub fn new(stream: TcpStream) -> io::Result<Self> {
        stream.set_nodelay(true)?;
        let stream = QuickAck(stream);
        stream.ack_now();
        Ok(stream)
    }

    fn ack_now(&self) {
        // Best effort: a socket that refuses it only costs latency.
        let _ = SockRef::from(&self.0).set_tcp_quickack(true);
    }
}

impl AsyncRead for QuickAck {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.0).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.ack_now();
        }
        polled
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}
