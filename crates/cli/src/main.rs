//! `stepcart`: run checkouts and any ASL definition locally, and inspect the embedded store.
//!
//! Exit codes: 0 success, 1 the thing it ran failed (a FAILED execution), 2 bad usage or unreadable input.

#[cfg(feature = "aws")]
mod aws;
mod commands;
mod faults;
mod local;
mod output;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

// The engine allocates and frees many small JSON values per state; mimalloc measured faster than the
// system allocator for that pattern (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "stepcart",
    version,
    about = "Run the stepcart checkout saga and ASL state machines locally"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
pub struct GlobalArgs {
    /// The embedded store (SQLite file).
    #[arg(
        long,
        global = true,
        env = "STEPCART_DB",
        default_value = ".stepcart/stepcart.db"
    )]
    pub db: PathBuf,
    /// Print JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Where `run`, `resume` and `payments` keep the checkout's domain data (catalog, stock, reservations,
    /// orders, notifications): the embedded store, or DynamoDB and SNS through the standard AWS
    /// configuration (`AWS_ENDPOINT_URL` for an emulator). `aws` needs a build with `--features aws` and
    /// `stepcart aws bootstrap` first. Executions are always kept in the embedded store.
    #[arg(long, global = true, value_enum, env = "STEPCART_BACKEND", default_value_t = commands::run::BackendArg::Embedded)]
    pub backend: commands::run::BackendArg,
    /// The payment provider: the simulated one, or Stripe (`STRIPE_SECRET_KEY`, `STRIPE_API_BASE`; needs
    /// `--backend aws`, where its ledger lives).
    #[arg(long, global = true, value_enum, env = "STEPCART_PAYMENT", default_value_t = commands::run::PaymentArg::Simulated)]
    pub payment: commands::run::PaymentArg,
}

#[derive(Subcommand)]
enum Command {
    /// Create the store if needed and load a catalog (default: the demo catalog).
    Seed {
        #[arg(long)]
        catalog: Option<PathBuf>,
    },
    /// Start a checkout locally and wait for it.
    Run(commands::run::RunArgs),
    /// Run any ASL definition in the engine.
    Exec(commands::exec::ExecArgs),
    /// Measure the engine: executions per second, or memory per parked execution (--park).
    Bench(commands::bench::BenchArgs),
    /// Stock levels (all SKUs, or the ones named).
    Stock { skus: Vec<String> },
    /// Orders in the store.
    Orders,
    /// The simulated payment provider.
    Payments {
        #[command(subcommand)]
        command: commands::payments::PaymentsCommand,
    },
    /// Continue executions left running (after --no-wait, a crash, or an elapsed Wait or timeout).
    Resume,
    /// Check the store's invariants: stock conserved, every captured payment has one order or was
    /// refunded in full, every order has one captured payment and one committed reservation.
    Check,
    /// Check ASL definitions statically (default: the checkout workflow).
    Validate { definitions: Vec<PathBuf> },
    /// The local server: the checkout API, the Step Functions API, the Stripe webhook and the console.
    Serve(commands::serve::ServeArgs),
    /// Executions through the Step Functions API (aws-sdk-sfn), on the local server or AWS.
    Executions(commands::executions::ExecutionsArgs),
    /// AWS resources for `--backend aws` (needs a build with `--features aws`).
    Aws {
        #[command(subcommand)]
        command: commands::aws::AwsCommand,
    },
}

/// What a command ends with; mapped to the process exit code.
pub enum Outcome {
    Success,
    /// The execution it ran FAILED (or timed out, or was aborted).
    Failed,
}

/// A problem with how the command was called or with its input: exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Runtime(#[from] local::LocalError),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(dispatch(cli));
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

async fn dispatch(cli: Cli) -> Result<Outcome, UsageError> {
    let global = cli.global;
    match cli.command {
        Command::Seed { catalog } => commands::seed::run(&global, catalog.as_deref()).await,
        Command::Run(args) => commands::run::run(&global, args).await,
        Command::Exec(args) => commands::exec::run(&global, args).await,
        Command::Bench(args) => commands::bench::run(args).await,
        Command::Stock { skus } => commands::inspect::stock(&global, &skus).await,
        Command::Orders => commands::inspect::orders(&global).await,
        Command::Payments { command } => commands::payments::run(&global, command).await,
        Command::Resume => commands::run::resume(&global).await,
        Command::Check => commands::inspect::check(&global).await,
        Command::Validate { definitions } => commands::validate::run(&global, &definitions),
        Command::Serve(args) => commands::serve::run(&global, args).await,
        Command::Executions(args) => commands::executions::run(&global, args).await,
        Command::Aws { command } => commands::aws::run(&global, command).await,
    }
}

/// Logs go to stderr, quiet unless `RUST_LOG` asks for more; progress and results are printed separately.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
