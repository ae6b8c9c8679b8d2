//! Accepted gRPC connections whose writes leave in as few system calls as
//! HTTP/2 allows.
//!
//! The `h2` crate copies a DATA frame into its write buffer only when the
//! frame is smaller than a threshold: 256 bytes on an I/O that reports
//! vectored writes (a TCP stream does), 1 KiB on one that does not. It holds a
//! larger frame aside and must write the buffer out, with the frame, before it
//! can queue anything else. On a busy connection every answer between 256
//! bytes and 1 KiB therefore cost a `writev` of its own, and its trailers
//! often another: GetProperty's answers are 0.6-1 KiB, and the service made
//! two system calls per RPC where echo's 40-byte answers shared one between
//! several RPCs (a third of the service's CPU was the kernel's TCP path;
//! `bench/README.md`).
//!
//! [`CoalescedIo`] reports no vectored writes, so h2 copies frames under 1 KiB
//! into its buffer and writes the frames of many streams at once. It sits on
//! a [`BufWriter`], so a larger frame, which h2 then hands over as two
//! slices (its buffer, then the payload), still leaves in one system call.
//! Nothing waits in that buffer: h2 flushes at the end of every write pass,
//! and the buffer is written out at the flush.
//!
//! The flush itself waits one turn of the scheduler. A request's task that
//! answers wakes the connection's task, and tokio runs a task woken that way
//! next (its "LIFO slot"): each answer was written out alone, while the other
//! requests read in the same pass waited in the run queue to answer. So the
//! first flush with bytes pending yields instead (it wakes its own task, which
//! tokio puts at the back of the queue), and the next one writes out what the
//! requests queued before it answered meanwhile. Under light load the queue
//! is empty and the turn costs microseconds.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, BufWriter, ReadBuf};
use tonic::transport::server::Connected;

/// Room for h2's write buffer (16 KiB) plus a largest DATA frame (16 KiB by
/// default) with a margin, so a pass of writes is copied whole.
const WRITE_BUFFER: usize = 64 * 1024;

/// A server-side connection that coalesces writes until flushed; see the
/// module docs.
#[derive(Debug)]
pub struct CoalescedIo<S> {
    inner: BufWriter<S>,
    /// The last flush with bytes pending yielded; the next one writes.
    yielded: bool,
}

impl<S: AsyncWrite> CoalescedIo<S> {
    /// Wraps an accepted connection.
    pub fn new(stream: S) -> Self {
        Self {
            inner: BufWriter::with_capacity(WRITE_BUFFER, stream),
            yielded: false,
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for CoalescedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CoalescedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.inner.buffer().is_empty() && !self.yielded {
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let flushed = std::task::ready!(Pin::new(&mut self.inner).poll_flush(cx));
        self.yielded = false;
        Poll::Ready(flushed)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    /// False on purpose: it raises h2's copy threshold from 256 bytes to 1 KiB.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

impl<S: Connected + AsyncWrite> Connected for CoalescedIo<S> {
    type ConnectInfo = S::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.get_ref().connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Wake, Waker};

    use tokio::io::AsyncWriteExt;

    /// Records every write that reaches the "socket".
    #[derive(Debug, Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Vec<u8>>>>);

    impl AsyncWrite for Recorder {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.lock().unwrap().push(buf.to_vec());
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Counts the wakes of a task.
    #[derive(Debug, Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_pass_of_writes_leaves_in_one_write_a_turn_after_the_flush() {
        let socket = Recorder::default();
        let mut io = CoalescedIo::new(socket.clone());
        assert!(!io.is_write_vectored(), "h2 must see a non-vectored I/O");

        // What h2 hands over for three answers: its buffer, then a frame too
        // large to copy (two slices), then trailers.
        let frame = vec![7u8; 16 * 1024];
        io.write_all(b"headers+data").await.unwrap();
        io.write_all(&frame).await.unwrap();
        io.write_all(b"trailers").await.unwrap();
        assert!(
            socket.0.lock().unwrap().is_empty(),
            "nothing before the flush"
        );

        // The first flush yields a turn, asking to be polled again.
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&wakes));
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut io).poll_flush(&mut cx).is_pending());
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "it wakes itself");
        assert!(socket.0.lock().unwrap().is_empty(), "nothing yet");

        // What h2 writes meanwhile joins the same system call.
        io.write_all(b"more").await.unwrap();
        assert!(matches!(
            Pin::new(&mut io).poll_flush(&mut cx),
            Poll::Ready(Ok(()))
        ));
        let writes = socket.0.lock().unwrap().clone();
        assert_eq!(writes.len(), 1, "one write for the whole pass");
        let expected = [b"headers+data".as_slice(), &frame, b"trailers", b"more"].concat();
        assert_eq!(writes[0], expected, "every byte, in order");

        // With nothing pending a flush does not wait.
        assert!(matches!(
            Pin::new(&mut io).poll_flush(&mut cx),
            Poll::Ready(Ok(()))
        ));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
    }
}
