//! A moto server (PyPI `moto[server]`) started by the test itself on 127.0.0.1, and AWS clients pointed
//! at it. `scripts/test.sh` installs moto into `.tools/aws-py`; `STEPCART_MOTO_PYTHON` names another
//! Python that has it. The server is `scripts/testing/moto_server.py`: moto with one request at a time,
//! because stock moto applies concurrent transactions without a lock (DynamoDB never does).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stepcart_aws::AwsClients;

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    if let Ok(path) = std::env::var("STEPCART_MOTO_PYTHON") {
        return PathBuf::from(path);
    }
    let local = root().join(".tools/aws-py/bin/python");
    if local.exists() {
        return local;
    }
    PathBuf::from("python3")
}

impl Moto {
    pub fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let exe = python();
        let child = Command::new(&exe)
            .arg(root().join("scripts/testing/moto_server.py"))
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto with {} ({e}): run `scripts/test.sh` (it installs 'moto[server]' into .tools/aws-py) or set STEPCART_MOTO_PYTHON",
                    exe.display()
                )
            });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut child = child;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "moto exited ({status}) before listening: is moto[server] installed for {}?",
                    exe.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "moto did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    pub async fn clients(&self) -> AwsClients {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "moto",
            ))
            .load()
            .await;
        AwsClients::from_config(&config)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
