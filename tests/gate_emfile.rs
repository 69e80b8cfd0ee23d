//! N5 on real sockets: an accept that fails because the process is out of file descriptors
//! (EMFILE) is reported to the watchdog and never closes the listener.
//!
//! Its own test binary with a single test, because it lowers this process's open-files limit
//! for a moment: any other test running beside it could fail to open a file meanwhile. How the
//! accept is made to fail: the limit is set one above the lowest free descriptor, so the
//! client's socket takes the last one allowed and the gate's poller, accepting that client,
//! gets EMFILE. Once the error is reported the limit is restored: the poller's retry accepts
//! the waiting client and a new one, on the same listener.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::gate::{Seen, config, frame, lines, watchdog_kind};
use skygroup::Address;
use skygroup::gate::GateRef;

const WAIT: Duration = Duration::from_secs(10);

fn wait_for(seen: &Seen, prefix: &str, n: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        let found = lines(seen, prefix);
        if found.len() >= n {
            return found;
        }
        assert!(start.elapsed() < WAIT, "waited for {n} `{prefix}`, saw {:?}", seen.lock().unwrap());
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The lowest descriptor number free now (the next one the process would get).
fn lowest_free_fd() -> u64 {
    let probe = std::fs::File::open("/dev/null").expect("open /dev/null");
    probe.as_raw_fd() as u64
}

// checks N5
#[test]
fn an_accept_error_out_of_descriptors_is_reported_and_the_listener_stays_open() {
    let rt = common::threaded(2);
    let seen = Seen::default();
    rt.define(skygroup::gate::kind()).unwrap();
    rt.define(watchdog_kind("watchdog", seen.clone())).unwrap();
    let watchdog = rt.spawn("watchdog", config(|_| {})).unwrap();
    let addr = rt.block_on(move |ctx| async move {
        let gate = Address::try_from(ctx.call(watchdog, "gate", ()).await.unwrap()).unwrap();
        String::try_from(GateRef(gate).local_addr(&ctx).await.unwrap()).unwrap()
    });
    let nofile = rlimit::Resource::NOFILE;
    let (soft, hard) = nofile.get().unwrap();

    let free = lowest_free_fd();
    nofile.set(free + 1, hard).unwrap();
    let first = TcpStream::connect(&addr); // takes descriptor `free`, the last one allowed
    let errors = first.as_ref().ok().map(|_| wait_for(&seen, "error", 1));
    nofile.set(soft, hard).unwrap(); // restored before any assertion can fail
    let mut first = first.expect("the client's socket fits under the limit");
    let errors = errors.unwrap();
    assert!(errors[0].starts_with("error accept: ") && errors[0].contains("os error 24"), "{errors:?}");

    // The listener is still open: the waiting client is accepted on the retry, and a new one.
    let mut second = TcpStream::connect(&addr).unwrap();
    wait_for(&seen, "open", 2);
    for (client, text) in [(&mut first, &b"first"[..]), (&mut second, &b"second"[..])] {
        client.set_read_timeout(Some(WAIT)).unwrap();
        client.write_all(&frame(text)).unwrap();
        let mut echo = vec![0; 2 + text.len()];
        client.read_exact(&mut echo).unwrap();
        assert_eq!(&echo[2..], text);
    }
    assert!(lines(&seen, "close").is_empty(), "{:?}", seen.lock().unwrap());
    rt.shutdown();
}
