//! A moto server (PyPI `moto[server]`) started by the test itself on 127.0.0.1, and AWS clients pointed
//! at it. `scripts/test.sh` installs moto into `.tools/aws-py`; `STEPCART_MOTO_PYTHON` names another
//! Python that has it. The server is `scripts/testing/moto_server.py`: moto with one request at a time,
//! because stock moto applies concurrent transactions without a lock (DynamoDB never does).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use stepcart_aws::AwsClients;
use stepcart_port_contract::server::PythonServer;

pub struct Moto {
    _server: PythonServer,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let server = PythonServer::start(
            "moto_server.py",
            "STEPCART_MOTO_PYTHON",
            "aws-py",
            "moto",
            "run `scripts/test.sh` (it installs 'moto[server]' into .tools/aws-py)",
        );
        Moto {
            endpoint: format!("http://127.0.0.1:{}", server.port),
            _server: server,
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
