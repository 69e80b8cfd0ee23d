//! Simulated clients: what a test writes, as ordinary async code, to play a player against a
//! gate in the simulator (`sim.connect(addr).await`, `write_frame`, `read_frame`, `close`).
//! Their futures wait on the virtual network, so they run inside `rt.block_on` (or any task of
//! the simulated runtime) and every step they take is the seed's.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;

use crate::executor::SimExecutor;

/// One simulated client connection.
pub struct SimClient {
    executor: Arc<SimExecutor>,
    conn: u64,
}

impl SimClient {
    pub(crate) async fn connect(executor: Arc<SimExecutor>, addr: String) -> Result<SimClient, String> {
        let conn = executor.client_connect(&addr);
        let result = poll_fn(|cx| match executor.client_poll(conn, cx.waker(), |side| side.connected()) {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        })
        .await;
        result.map(|()| SimClient { executor, conn })
    }

    /// The connection's id (the same the gate reports: one counter per network).
    pub fn conn(&self) -> u64 {
        self.conn
    }

    /// Sends `bytes` (they arrive cut at chosen points, in order). Returns at once.
    pub fn write(&self, bytes: &[u8]) {
        self.executor.client_write(self.conn, bytes);
    }

    /// Sends `payload` with skynet's 2-byte big-endian length prefix.
    pub fn write_frame(&self, payload: &[u8]) {
        let len = u16::try_from(payload.len()).expect("a frame under 64 KiB");
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.extend_from_slice(payload);
        self.write(&bytes);
    }

    /// The next 2-byte-prefixed frame, or the server's close reason once the connection is
    /// closed with no whole frame left.
    pub async fn read_frame(&self) -> Result<Vec<u8>, String> {
        poll_fn(|cx| {
            let read = self.executor.client_poll(self.conn, cx.waker(), |side| {
                let buf = side.received();
                if buf.len() >= 2 {
                    let len = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
                    if buf.len() >= 2 + len {
                        buf.drain(..2);
                        return Some(Ok(buf.drain(..len).collect()));
                    }
                }
                side.eof().map(|reason| Err(reason.to_owned()))
            });
            read.map_or(Poll::Pending, Poll::Ready)
        })
        .await
    }

    /// The next line the server sent (without its `\n`), or the server's close reason once the
    /// connection is closed with no whole line left (for line protocols like the console's).
    pub async fn read_line(&self) -> Result<String, String> {
        poll_fn(|cx| {
            let read = self.executor.client_poll(self.conn, cx.waker(), |side| {
                let buf = side.received();
                if let Some(end) = buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=end).collect();
                    return Some(Ok(String::from_utf8_lossy(&line[..end]).into_owned()));
                }
                side.eof().map(|reason| Err(reason.to_owned()))
            });
            read.map_or(Poll::Pending, Poll::Ready)
        })
        .await
    }

    /// Waits until the server closes the connection; its reason. Discards unread bytes.
    pub async fn closed(&self) -> String {
        poll_fn(|cx| {
            let eof = self.executor.client_poll(self.conn, cx.waker(), |side| {
                side.received().clear();
                side.eof().map(str::to_owned)
            });
            eof.map_or(Poll::Pending, Poll::Ready)
        })
        .await
    }

    /// Closes the client's side (the server sees "closed by peer").
    pub fn close(self) {
        self.executor.client_close(self.conn, false);
    }

    /// Shuts the client's sending side only (TCP half-close): the server sees the end of the
    /// stream after the bytes sent before (and closes: "closed by peer (half-close)"), while
    /// this client still reads what the server sent until then.
    pub fn half_close(&self) {
        self.executor.client_half_close(self.conn);
    }

    /// Makes this client a slow reader: every delivery to it from now on takes `lag` more, so
    /// what the server writes piles up as unsent bytes (past `max_unsent` the connection
    /// closes, N7). With network faults on, some connections are slow readers from the start.
    pub fn read_lag(&self, lag: std::time::Duration) {
        self.executor.client_read_lag(self.conn, lag);
    }

    /// Resets the connection (the server sees "reset by peer"), e.g. mid-frame.
    pub fn reset(self) {
        self.executor.client_close(self.conn, true);
    }
}
