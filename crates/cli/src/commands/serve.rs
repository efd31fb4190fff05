//! `stepcart serve`: the local server (routes in `server`). Executions left running by an earlier
//! process, even one that was killed, are resumed before the first request is served.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;

use crate::local::Driving;
use crate::server::{App, router};
use crate::{GlobalArgs, Outcome, UsageError};

#[derive(Args)]
pub struct ServeArgs {
    /// Where to listen. Without --api-key only a loopback address is accepted. Port 0 picks a free port;
    /// the first line on stdout says which.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Require this key in the `x-api-key` header of the checkout and Step Functions APIs.
    #[arg(long, env = "STEPCART_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// A Stripe webhook signing secret (repeat during a rotation: any one verifies).
    #[arg(
        long = "stripe-webhook-secret",
        env = "STRIPE_WEBHOOK_SECRET",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub webhook_secrets: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: ServeArgs) -> Result<Outcome, UsageError> {
    if args.api_key.is_none() && !args.addr.ip().is_loopback() {
        return Err(UsageError::Usage(format!(
            "refusing to listen on {} without --api-key: anyone who can reach it could start checkouts",
            args.addr
        )));
    }
    if args.api_key.as_deref().is_some_and(str::is_empty) {
        return Err(UsageError::Usage("--api-key must not be empty".into()));
    }
    let local = super::run::open_local_driving(global, Driving::Spawned).await?;
    local.ensure_seeded().await?;
    // This process is now the store's only driver: claims a killed predecessor held are void.
    local
        .store()
        .release_webhook_claims()
        .await
        .map_err(|e| UsageError::Usage(format!("cannot read the store: {e}")))?;
    let resumed = local.resume_all().await?;
    if !resumed.is_empty() {
        eprintln!(
            "stepcart serve: resumed {} executions left running",
            resumed.len()
        );
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| UsageError::Usage(format!("cannot listen on {}: {e}", args.addr)))?;
    let bound = listener
        .local_addr()
        .map_err(|e| UsageError::Usage(format!("cannot read the bound address: {e}")))?;
    let app = Arc::new(App {
        local,
        api_key: args.api_key,
        webhook_secrets: args
            .webhook_secrets
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect(),
        simulated_payments: global.payment == super::run::PaymentArg::Simulated,
    });
    // Tests and scripts read the address from the first line.
    println!("listening on http://{bound}");
    eprintln!("stepcart serve: console at http://{bound}/console");
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| UsageError::Usage(format!("the server stopped: {e}")))?;
    Ok(Outcome::Success)
}

/// Ctrl-C or SIGTERM: stop accepting requests. Running executions stay persisted and resume next time.
async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
