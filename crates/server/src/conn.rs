//! The listening socket: connection caps, and deadlines that slow clients cannot stretch.
//!
//! axum's `serve` keeps every accepted connection for as long as the client wants and sets no
//! header-read timeout, so idle or trickling clients could hold file descriptors without bound
//! (slowloris). Here:
//! - each connection holds a permit of [`crate::Limits::max_connections`] (past the cap, new
//!   connections wait in the kernel's backlog until one closes);
//! - one client address holds at most [`crate::Limits::max_per_client`] connections; more are
//!   closed as soon as they are accepted, so one client cannot take every slot;
//! - a request must arrive whole (head and body) within [`crate::Limits::read_timeout`] of its
//!   first byte, or of the connection's opening for the first request, however it trickles: the
//!   deadline runs until the server starts writing the answer, then the connection is closed;
//! - a connection on which nothing was read or written for `idle` is closed (the keep-alive
//!   limit). Event streams stay open: their keep-alive comments (every 15 s) count as activity.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// The deadlines and caps of [`CappedListener`] (from [`crate::Limits`]).
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Open connections at most.
    pub max: usize,
    /// Open connections from one client address at most.
    pub per_client: usize,
    /// Longest time without any traffic.
    pub idle: Duration,
    /// Longest time from a request's first byte (or the connection's opening) to the start of
    /// its answer.
    pub read: Duration,
}

impl ConnLimits {
    /// The connection limits of `l`.
    pub fn of(l: &crate::Limits) -> Self {
        ConnLimits {
            max: l.max_connections,
            per_client: l.max_per_client,
            idle: l.idle_timeout,
            read: l.read_timeout,
        }
    }
}

/// Open connections per client address.
type Counts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// A listener that caps open connections and wraps each in a [`CappedStream`].
pub struct CappedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    counts: Counts,
    limits: ConnLimits,
}

impl CappedListener {
    /// Wraps `inner` with the caps and deadlines of `limits`.
    pub fn new(inner: TcpListener, limits: ConnLimits) -> Self {
        CappedListener {
            inner,
            permits: Arc::new(Semaphore::new(limits.max.max(1))),
            counts: Arc::default(),
            limits,
        }
    }
}

/// A client's share of the connections; given back when the connection closes.
struct ClientSlot {
    ip: IpAddr,
    counts: Counts,
}

impl ClientSlot {
    /// Takes a slot for `ip`, or None when it already holds `max`.
    fn take(counts: &Counts, ip: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = c.entry(ip).or_insert(0);
        if *n >= max.max(1) {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            ip,
            counts: Arc::clone(counts),
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = c.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.remove(&self.ip);
            }
        }
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

impl axum::serve::Listener for CappedListener {
    type Io = CappedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed; if it were, waiting forever is the safe answer.
        let permit = match Arc::clone(&self.permits).acquire_owned().await {
            Ok(p) => p,
            Err(_) => std::future::pending().await,
        };
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    // Over its share: closed at once (dropped), the permit kept for the next.
                    let Some(slot) =
                        ClientSlot::take(&self.counts, addr.ip(), self.limits.per_client)
                    else {
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    return (CappedStream::new(stream, permit, slot, self.limits), addr);
                }
                // A client that went away before accept: try the next one.
                Err(e) if is_connection_error(&e) => continue,
                // EMFILE and the like: back off instead of spinning (as axum does).
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP connection holding its permits, closed after `idle` without traffic or when a request
/// takes longer than `read` to arrive.
pub struct CappedStream {
    io: TcpStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    read_limit: Duration,
    /// Set while a request is arriving (from its first byte, or from the opening of the
    /// connection, until the answer starts): the request's deadline.
    request_deadline: Option<Pin<Box<Sleep>>>,
    _permit: OwnedSemaphorePermit,
    _slot: ClientSlot,
}

impl CappedStream {
    fn new(
        io: TcpStream,
        permit: OwnedSemaphorePermit,
        slot: ClientSlot,
        limits: ConnLimits,
    ) -> Self {
        CappedStream {
            io,
            idle: limits.idle,
            deadline: Box::pin(tokio::time::sleep(limits.idle)),
            read_limit: limits.read,
            request_deadline: Some(Box::pin(tokio::time::sleep(limits.read))),
            _permit: permit,
            _slot: slot,
        }
    }

    fn touch(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    /// When the inner I/O is pending: fail with `TimedOut` once the idle deadline or the
    /// request's deadline has passed (polling the timers registers the waker, so the connection
    /// is woken to be closed).
    fn idle_check(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if let Some(d) = self.request_deadline.as_mut() {
            if d.as_mut().poll(cx).is_ready() {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the request did not arrive in time",
                ));
            }
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle for too long",
            )),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Bytes of a request arrived: its deadline starts with the first of them.
    fn request_bytes(&mut self) {
        if self.request_deadline.is_none() {
            self.request_deadline = Some(Box::pin(tokio::time::sleep(self.read_limit)));
        }
    }

    /// The answer is being written: the request arrived in time.
    fn answering(&mut self) {
        self.request_deadline = None;
    }
}

impl AsyncRead for CappedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.touch();
                if buf.filled().len() > before {
                    this.request_bytes();
                }
                Poll::Ready(r)
            }
            Poll::Pending => this.idle_check(cx).map(Err),
        }
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.touch();
                this.answering();
                Poll::Ready(r)
            }
            Poll::Pending => this.idle_check(cx).map(Err),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.io).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                this.touch();
                this.answering();
                Poll::Ready(r)
            }
            Poll::Pending => this.idle_check(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
