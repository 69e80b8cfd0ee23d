//! The runtime's metrics served to Prometheus: the exporter's HTTP listener on 127.0.0.1, the
//! `metrics` kind publishing every second, a little traffic, then one scrape printed.
//! `cargo run -p skygroup-examples-tokio --example prometheus [-- ADDR]` (default
//! 127.0.0.1:9898); with `--serve` it keeps serving until Ctrl-C.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use skygroup::console::metrics::MetricsConfig;
use skygroup::{Ctx, Runtime, ServiceKind, Value, anyhow};

fn main() -> anyhow::Result<()> {
    let serve = std::env::args().any(|a| a == "--serve");
    let addr: SocketAddr =
        std::env::args().skip(1).find(|a| !a.starts_with("--")).unwrap_or("127.0.0.1:9898".into()).parse()?;
    PrometheusBuilder::new().with_http_listener(addr).install()?;

    let rt = Runtime::threaded(2);
    rt.define(skygroup::console::metrics::kind())?;
    rt.define(ServiceKind::stateless("boot"))?;
    rt.define(ServiceKind::stateless("echo").command("echo", |_ctx: Ctx, v: Value| async move { Ok(v) }))?;
    let server = rt.newgroup("server-1", "boot", ())?;
    rt.spawn("metrics", MetricsConfig { interval: Duration::from_secs(1) })?;
    rt.block_on(move |ctx| async move {
        let echo = server.query(&ctx, "echo").await?;
        for i in 0..100 {
            ctx.call(echo, "echo", i).await?;
        }
        anyhow::Ok(())
    })?;
    skygroup::console::metrics::publish(&rt);
    if serve {
        println!("metrics on http://{addr}/metrics");
        loop {
            std::thread::park();
        }
    }
    // The exporter's listener starts on its own thread: give it a moment.
    let mut scrape = (0..50)
        .find_map(|_| TcpStream::connect(addr).map_err(|_| std::thread::sleep(Duration::from_millis(40))).ok())
        .ok_or_else(|| anyhow::anyhow!("no exporter listening on {addr}"))?;
    scrape.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
    let mut body = String::new();
    scrape.read_to_string(&mut body)?;
    for line in body.lines().filter(|l| l.starts_with("skygroup_")) {
        println!("{line}");
    }
    Ok(())
}
