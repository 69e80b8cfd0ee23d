//! [`LocalServer`]: a throw-away `nats-server -js` on 127.0.0.1 for tests, examples and
//! benchmarks.
//!
//! It listens on a free port with its JetStream store in a fresh temporary directory; dropping it
//! kills the process and removes the directory. [`LocalServer::kill`] and
//! [`LocalServer::restart`] let a test take the server away and bring it back on the same port
//! with the same store, which is what a node sees when its server restarts.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `nats-server` process with JetStream, killed on drop.
#[derive(Debug)]
pub struct LocalServer {
    binary: PathBuf,
    port: u16,
    store_dir: PathBuf,
    child: Option<Child>,
}

/// Where the `nats-server` binary is: `$NATS_SERVER`, else the first of `PATH`, `/usr/sbin`,
/// `/usr/bin`, `/usr/local/bin` that has it (Debian's package puts it in `/usr/sbin`, often not
/// on a user's `PATH`).
pub(crate) fn find_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

impl LocalServer {
    /// Starts `nats-server -js` on a free port of 127.0.0.1 and waits (at most 10 s) until it
    /// accepts connections.
    pub fn start() -> std::io::Result<LocalServer> {
        let binary = find_binary().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "nats-server not found (set NATS_SERVER, or `apt-get install nats-server`)",
            )
        })?;
        let port = free_port()?;
        let store_dir = std::env::temp_dir().join(format!("skygroup-nats-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&store_dir)?;
        let mut server = LocalServer { binary, port, store_dir, child: None };
        server.restart()?;
        Ok(server)
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its JetStream store directory.
    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    /// Kills the server (SIGKILL: no goodbye to the clients) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same store (kills it first if it
    /// runs), and waits (at most 10 s) until it accepts connections.
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.kill();
        let child = Command::new(&self.binary)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(&self.store_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(std::io::Error::other(format!(
                    "nats-server on port {} exited at start: {status}",
                    self.port
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("nats-server on port {} did not listen within 10 s", self.port),
        ))
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.store_dir);
    }
}
