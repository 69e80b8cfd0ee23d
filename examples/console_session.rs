//! An operator's console session: a runtime with one game server, a console on 127.0.0.1, and
//! a TCP client typing the commands an operator would (the README's transcript comes from
//! here). `cargo run --example console_session`; with `-- --serve`, the console stays up for
//! `nc 127.0.0.1 PORT` until Ctrl-C.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use skygroup::console::ConsoleConfig;
use skygroup::{Ctx, Runtime, ServiceKind, Value};

fn main() -> anyhow::Result<()> {
    let rt = Runtime::threaded(2);
    rt.define(skygroup::console::kind())?;
    rt.define(ServiceKind::stateless("boot"))?;
    rt.define(
        ServiceKind::stateless("db")
            .command("get", |_ctx: Ctx, key: Value| async move { Ok(Value::List(vec![key, Value::Int(42)])) }),
    )?;
    let server = rt.newgroup("server-1", "boot", ())?;
    let db = rt.block_on(move |ctx| async move { server.query(&ctx, "db").await })?;
    let console = rt.spawn("console", ConsoleConfig::default())?;
    let addr = rt.block_on(move |ctx| async move { ctx.call(console, "address", ()).await })?;
    let addr = String::try_from(addr)?;
    println!("console on {addr}");
    if std::env::args().any(|a| a == "--serve") {
        loop {
            std::thread::park();
        }
    }
    let stream = TcpStream::connect(&addr)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    for line in [
        "list",
        "group 1",
        &format!("call {db} get \"ana\""),
        &format!("stat {db}"),
        &format!("call {db} get [1,"),
        "frobnicate",
        &format!("trace {db} on"),
        &format!("kill {db}"),
        &format!("stat {db}"),
        "help",
    ] {
        println!("> {line}");
        writeln!(writer, "{line}")?;
        loop {
            let mut answer = String::new();
            if reader.read_line(&mut answer)? == 0 {
                anyhow::bail!("the console closed");
            }
            print!("{answer}");
            if answer == "<ok>\n" || answer == "<error>\n" {
                break;
            }
        }
    }
    Ok(())
}
