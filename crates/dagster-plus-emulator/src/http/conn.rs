//! A TCP listener whose connections a handler can reset, for the
//! `connection_reset` and `drop_response` faults.
//!
//! axum hides the socket from handlers, so each accepted stream carries a
//! shared [`ConnectionControl`] that the handler receives as connect info.
//! Once it is tripped, the next read or write on the stream fails, hyper drops
//! the connection, and (with `SO_LINGER` 0) the kernel sends a TCP RST instead
//! of a response.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

pub struct ResettableListener {
    inner: TcpListener,
}

impl ResettableListener {
    pub fn new(inner: TcpListener) -> ResettableListener {
        ResettableListener { inner }
    }
}

impl Listener for ResettableListener {
    type Io = ResettableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let control = ConnectionControl(Arc::new(AtomicBool::new(false)));
                    return (ResettableStream { stream, control }, addr);
                }
                // Per-connection failures (the peer gave up) are not fatal;
                // resource exhaustion (EMFILE) needs a pause before retrying.
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    if !is_connection_error(&e) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Handed to handlers (as `ConnectInfo`) to reset their own connection.
#[derive(Clone, Debug)]
pub struct ConnectionControl(Arc<AtomicBool>);

impl ConnectionControl {
    /// The connection is reset at its next read or write; nothing more is sent.
    pub fn reset(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_reset(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, ResettableListener>> for ConnectionControl {
    fn connect_info(stream: IncomingStream<'_, ResettableListener>) -> Self {
        stream.io().control.clone()
    }
}

pub struct ResettableStream {
    stream: TcpStream,
    control: ConnectionControl,
}

impl ResettableStream {
    fn check(&self) -> io::Result<()> {
        if !self.control.is_reset() {
            return Ok(());
        }
        // Linger 0 turns the close into an RST, which clients see as
        // "connection reset by peer" rather than a clean end of stream.
        if let Err(e) = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO)) {
            tracing::warn!(error = %e, "cannot set SO_LINGER for a reset");
        }
        Err(io::Error::new(io::ErrorKind::ConnectionReset, "connection reset by fault injection"))
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}
