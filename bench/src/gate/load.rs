//! The client side of the gate benchmark: `n` connections to 127.0.0.1, each a ping-pong of
//! 64-byte frames (2-byte length prefix) for a fixed time, on a tokio runtime of its own (the
//! same generator for both servers). Also the idle connections of the memory figure.

use std::net::TcpStream as StdStream;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Payload bytes of one frame (66 on the wire with the prefix).
pub const PAYLOAD: usize = 64;
/// Round trips in the first part of a run are not counted (connections and caches settle).
const WARM_UP: Duration = Duration::from_millis(500);
/// Client runtime threads.
const CLIENT_THREADS: usize = 2;

/// What one echo run measured.
pub struct EchoFigures {
    pub frames_per_sec: f64,
    pub p50_us: u32,
    pub p99_us: u32,
}

/// `conns` clients ping-pong against `addr` for `WARM_UP + measured`.
pub fn echo(addr: &str, conns: usize, measured: Duration) -> EchoFigures {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(CLIENT_THREADS)
        .enable_all()
        .build()
        .expect("a client runtime");
    let addr = addr.to_owned();
    let mut latencies: Vec<u32> = rt.block_on(async move {
        let mut streams = Vec::with_capacity(conns);
        for _ in 0..conns {
            let stream = TcpStream::connect(&addr).await.expect("connect to the echo server");
            stream.set_nodelay(true).expect("nodelay");
            streams.push(stream);
        }
        let start = Instant::now() + Duration::from_millis(50);
        let (from, until) = (start + WARM_UP, start + WARM_UP + measured);
        let tasks: Vec<_> = streams.into_iter().map(|s| tokio::spawn(ping_pong(s, start, from, until))).collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.expect("a client task"));
        }
        all
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    latencies.sort_unstable();
    let at = |q: f64| latencies.get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)));
    EchoFigures {
        frames_per_sec: latencies.len() as f64 / measured.as_secs_f64(),
        p50_us: at(0.50).copied().unwrap_or(0),
        p99_us: at(0.99).copied().unwrap_or(0),
    }
}

/// One connection: write a frame, read its echo, again, until `until`; the round trips that
/// began after `from`, in microseconds.
async fn ping_pong(mut stream: TcpStream, start: Instant, from: Instant, until: Instant) -> Vec<u32> {
    tokio::time::sleep_until(start.into()).await;
    let mut frame = vec![0u8; 2 + PAYLOAD];
    frame[..2].copy_from_slice(&(PAYLOAD as u16).to_be_bytes());
    let mut back = vec![0u8; 2 + PAYLOAD];
    let mut latencies = Vec::new();
    loop {
        let sent = Instant::now();
        if sent >= until {
            return latencies;
        }
        frame[2] = frame[2].wrapping_add(1);
        stream.write_all(&frame).await.expect("write a frame");
        stream.read_exact(&mut back).await.expect("read the echo");
        assert_eq!(back, frame, "the echo is the frame");
        if sent >= from {
            latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
        }
    }
}

/// `n` idle connections to `addr` (blocking std sockets: no user-space memory of their own).
pub fn idle(addr: &str, n: usize) -> Vec<StdStream> {
    (0..n).map(|_| StdStream::connect(addr).expect("connect an idle client")).collect()
}
