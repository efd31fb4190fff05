//! A Python test server (moto, localstripe) started by a test on 127.0.0.1: a free port, the launcher
//! script from `scripts/testing/`, a wait until it listens, and a kill when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PythonServer {
    child: Child,
    pub port: u16,
}

/// The workspace root (this crate is `crates/port-contract`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl PythonServer {
    /// Runs `scripts/testing/<script> PORT` with the Python named by the environment variable
    /// `python_var`, else `.tools/<venv>/bin/python`, else `python3`. `what` and `install` make the
    /// failure messages say what is missing and how to get it.
    pub fn start(script: &str, python_var: &str, venv: &str, what: &str, install: &str) -> PythonServer {
        let root = workspace_root();
        let python = std::env::var(python_var).map(PathBuf::from).unwrap_or_else(|_| {
            let local = root.join(".tools").join(venv).join("bin/python");
            if local.exists() {
                local
            } else {
                PathBuf::from("python3")
            }
        });
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(&python)
            .arg(root.join("scripts/testing").join(script))
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {what} with {} ({e}): {install} or set {python_var}",
                    python.display()
                )
            });
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{what} exited ({status}) before listening: is it installed for {}?",
                    python.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        PythonServer { child, port }
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
