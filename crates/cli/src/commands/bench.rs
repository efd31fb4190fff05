//! `stepcart bench`: engine throughput and memory, in-process, with nothing persisted.
//!
//! * Throughput (default): runs the definition `--iterations` times with `--concurrency` executions in
//!   flight. `--concurrency 1` runs on a current-thread tokio runtime (single-threaded: one core);
//!   a higher concurrency runs on `--threads` threads (default: every core; `--threads 1` forces one
//!   current-thread runtime at any concurrency). `--layout per-thread` (the default) gives each
//!   thread its own current-thread runtime and its own copy of the definition, input, stub functions
//!   and sink, and splits the iterations and the concurrency between them: nothing is shared between
//!   cores, as in a thread-per-core deployment. `--layout shared` runs one multi-thread runtime whose
//!   workers share one parsed definition (reference counts on its names, keys and literals are then
//!   written from every core).
//! * Memory (`--park K`): starts K executions that all stop at a `.waitForTaskToken` task and reports
//!   the growth of the process's resident set (`VmRSS` in `/proc/self/status`) divided by K.
//!   `--park-mode snapshot` drives each with `DriveMode::UntilIdle` and keeps the returned `Execution`
//!   snapshots (what a server keeps between callbacks); `--park-mode live` keeps K runner futures
//!   waiting for their callbacks (`DriveMode::UntilComplete`), then sends every token back and checks
//!   that all executions succeed.
//!
//! The sink only counts what it is given (nothing is persisted or serialised), so persistence is not
//! measured. Task states are answered by `--stubs`: a JSON object from a Lambda function name or ARN to
//! the output it returns. `${name}` placeholders in the definition (Terraform `templatefile`) become
//! `arn:aws:lambda:us-east-1:000000000000:function:FN`, where FN is `name` without a trailing
//! `_function_arn`/`_arn` and with `_` replaced by `-` (`${validate_cart_function_arn}` ->
//! `validate-cart`), so `workflows/checkout.asl.json` runs as it is.
//!
//! Every execution must end SUCCEEDED: the output counts the ones that did not, and the command exits
//! 1 when there are any, so a benchmark cannot silently measure failures.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use clap::{Args, ValueEnum};
use stepcart_asl::{
    DriveMode, Execution, ExecutionContext, ExecutionSink, ExecutionStatus, FunctionError, HistoryEvent,
    LambdaFunction, LambdaRegistry, Runner, SinkError, StateMachine, SystemClock, TemplateError,
};
use stepcart_asl::{Value, json};

use crate::local::{ACCOUNT, REGION};
use crate::{Outcome, UsageError};

#[derive(Args)]
pub struct BenchArgs {
    /// An ASL definition (JSON); `${name}` placeholders are filled with stub function ARNs.
    pub definition: PathBuf,
    /// The execution input (JSON file); default `{}`.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// How many executions to measure.
    #[arg(long, default_value_t = 10_000)]
    pub iterations: u64,
    /// How many executions are in flight at once.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// Runtime worker threads; 1 means a current-thread runtime. Default: 1 when `--concurrency 1`,
    /// else every core.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Executions run first and not measured (warms allocator and caches).
    #[arg(long)]
    pub warmup: Option<u64>,
    /// A JSON object: Lambda function name (or ARN) -> the output that function returns.
    #[arg(long)]
    pub stubs: Option<PathBuf>,
    /// Memory mode: start this many executions that park at a `.waitForTaskToken` task and report the
    /// resident memory per parked execution.
    #[arg(long)]
    pub park: Option<u64>,
    /// What is kept for each parked execution.
    #[arg(long, value_enum, default_value_t = ParkMode::Snapshot)]
    pub park_mode: ParkMode,
    /// How more than one thread runs the throughput measurement.
    #[arg(long, value_enum, default_value_t = Layout::PerThread)]
    pub layout: Layout,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// One current-thread runtime per thread, each with its own definition, input, stubs and sink.
    PerThread,
    /// One multi-thread runtime; every worker shares one definition, input, stub set and sink.
    Shared,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ParkMode {
    /// `DriveMode::UntilIdle`; the returned `Execution` snapshots are kept in a Vec.
    Snapshot,
    /// `DriveMode::UntilComplete`; the runner futures stay alive, waiting for their callbacks.
    Live,
}

const SINK_NOTE: &str = "counting sink: nothing persisted or serialised";

/// Runs the benchmark on its own runtime, on a fresh thread (the CLI's runtime stays idle), so the
/// runtime flavour is the one the arguments ask for.
pub async fn run(args: BenchArgs) -> Result<Outcome, UsageError> {
    let thread = std::thread::Builder::new()
        .name("bench".to_owned())
        .spawn(move || run_blocking(args))
        .map_err(|e| UsageError::Usage(format!("cannot start the benchmark thread: {e}")))?;
    tokio::task::spawn_blocking(move || thread.join())
        .await
        .map_err(|e| UsageError::Usage(format!("the benchmark thread failed: {e}")))?
        .map_err(|_| UsageError::Usage("the benchmark thread panicked".to_owned()))?
}

fn run_blocking(args: BenchArgs) -> Result<Outcome, UsageError> {
    if args.iterations == 0 || args.concurrency == 0 {
        return Err(UsageError::Usage(
            "--iterations and --concurrency must be at least 1".to_owned(),
        ));
    }
    let threads = args
        .threads
        .unwrap_or(if args.concurrency == 1 && args.park_mode == ParkMode::Snapshot {
            1
        } else {
            std::thread::available_parallelism().map_or(1, usize::from)
        })
        .max(1);
    if args.park.is_none() && threads > 1 && args.layout == Layout::PerThread {
        let (report, outcome) = throughput_per_thread(&args, threads)?;
        println!("{report}");
        return Ok(outcome);
    }
    let setup = Setup::load(&args)?;
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .map_err(|e| UsageError::Usage(format!("cannot start the benchmark runtime: {e}")))?;
    let (report, outcome) = match args.park {
        Some(k) => runtime.block_on(park(&setup, k, args.park_mode, threads))?,
        None => runtime.block_on(throughput(&setup, &args, threads))?,
    };
    println!("{report}");
    Ok(outcome)
}

/// Everything prepared before the clock starts: the parsed machine, the input and the stub registry.
struct Setup {
    machine: Arc<StateMachine>,
    machine_arn: String,
    input: Value,
    registry: Arc<LambdaRegistry>,
    definition: String,
}

impl Setup {
    fn load(args: &BenchArgs) -> Result<Setup, UsageError> {
        let path = &args.definition;
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError::Usage(format!("cannot read {}: {e}", path.display())))?;
        let stubs = match &args.stubs {
            Some(p) => match Value::from(super::read_json(p)?) {
                Value::Object(map) => map,
                _ => {
                    return Err(UsageError::Usage(format!(
                        "{} must be a JSON object: function name or ARN -> output",
                        p.display()
                    )));
                }
            },
            None => stepcart_asl::Map::new(),
        };
        let text = render_placeholders(&text, path)?;
        let machine = StateMachine::from_json(&text)
            .map_err(|e| UsageError::Usage(format!("{} is not a valid definition:\n{e}", path.display())))?;
        let input = match &args.input {
            Some(p) => super::read_json(p)?.into(),
            None => json!({}),
        };
        let mut registry = LambdaRegistry::new();
        for (name, output) in stubs {
            registry.register(name.as_str(), Arc::new(Stub(output)));
        }
        let machine_name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("definition")
            .replace(
                |c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "-",
            );
        Ok(Setup {
            machine: Arc::new(machine),
            machine_arn: format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine_name}"),
            input,
            registry: Arc::new(registry),
            definition: path.display().to_string(),
        })
    }

    fn runner(&self, sink: Arc<dyn ExecutionSink>) -> Runner {
        Runner::new(self.registry.clone(), sink, Arc::new(SystemClock))
    }

    fn context(&self, name: &str) -> ExecutionContext {
        ExecutionContext::new(&self.machine_arn, name, time::OffsetDateTime::now_utc())
    }
}

/// Fills every `${name}` placeholder with a stub function ARN (see the module docs).
fn render_placeholders(text: &str, path: &Path) -> Result<String, UsageError> {
    let mut vars = BTreeMap::new();
    // Each round learns one unknown variable; a definition has few of them.
    for _ in 0..1000 {
        match stepcart_asl::render_template(text, &vars) {
            Ok(rendered) => return Ok(rendered),
            Err(TemplateError::UnknownVariable { name, .. }) => {
                let arn = stub_function_arn(&name);
                vars.insert(name, arn);
            }
            Err(e) => return Err(UsageError::Usage(format!("{}: {e}", path.display()))),
        }
    }
    Err(UsageError::Usage(format!(
        "{}: too many template variables",
        path.display()
    )))
}

fn stub_function_arn(placeholder: &str) -> String {
    let base = placeholder
        .strip_suffix("_function_arn")
        .or_else(|| placeholder.strip_suffix("_arn"))
        .unwrap_or(placeholder);
    format!(
        "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
        base.replace('_', "-")
    )
}

/// A Lambda function that always returns the same output.
struct Stub(Value);

#[async_trait]
impl LambdaFunction for Stub {
    async fn invoke(&self, _payload: Value) -> Result<Value, FunctionError> {
        Ok(self.0.clone())
    }
}

/// Counts what it is given; when `tokens` is set it also collects the task tokens executions wait on.
#[derive(Default)]
struct CountingSink {
    records: AtomicU64,
    events: AtomicU64,
    tokens: Option<Mutex<HashSet<String>>>,
}

#[async_trait]
impl ExecutionSink for CountingSink {
    async fn record(&self, execution: &Execution, new_events: &[HistoryEvent]) -> Result<(), SinkError> {
        self.records.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(new_events.len() as u64, Ordering::Relaxed);
        if let Some(tokens) = &self.tokens {
            let waiting = execution.waiting_task_tokens();
            if !waiting.is_empty() {
                let mut all = tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                all.extend(waiting);
            }
        }
        Ok(())
    }
}

/// Outcomes of the executions, so failures are reported, never measured silently.
#[derive(Default)]
struct Tally {
    succeeded: u64,
    not_succeeded: u64,
    first_failure: Option<Value>,
}

impl Tally {
    fn add(&mut self, result: Result<Execution, String>) {
        let failure = match result {
            Ok(exec) => match exec.status() {
                ExecutionStatus::Succeeded { .. } => {
                    self.succeeded += 1;
                    return;
                }
                ExecutionStatus::Failed { error, cause } => {
                    json!({"status": "FAILED", "error": error, "cause": cause})
                }
                ExecutionStatus::Aborted { error, cause } => {
                    json!({"status": "ABORTED", "error": error, "cause": cause})
                }
                ExecutionStatus::TimedOut { .. } => json!({"status": "TIMED_OUT"}),
                ExecutionStatus::Running => json!({"status": "RUNNING"}),
            },
            Err(message) => json!({"status": "ERROR", "error": message}),
        };
        self.not_succeeded += 1;
        self.first_failure.get_or_insert(failure);
    }

    fn merge(&mut self, other: Tally) {
        self.succeeded += other.succeeded;
        self.not_succeeded += other.not_succeeded;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }

    fn outcome(&self) -> Outcome {
        if self.not_succeeded == 0 {
            Outcome::Success
        } else {
            Outcome::Failed
        }
    }
}

/// A thread's place at the common start. It is crossed once: at the start, or when the thread ends
/// early (an error, a failed warm-up, a panic), so no thread waits forever for one that never comes.
struct StartLine(Option<Arc<std::sync::Barrier>>);

impl StartLine {
    fn cross(&mut self) {
        if let Some(barrier) = self.0.take() {
            barrier.wait();
        }
    }
}

impl Drop for StartLine {
    fn drop(&mut self) {
        self.cross();
    }
}

/// What one runtime measured.
struct Measured {
    tally: Tally,
    latencies: Vec<u32>,
    events: u64,
    records: u64,
}

impl Measured {
    fn merge(&mut self, other: Measured) {
        self.tally.merge(other.tally);
        self.latencies.extend(other.latencies);
        self.events += other.events;
        self.records += other.records;
    }
}

/// Runs `warmup` executions unmeasured; the report to give instead of a measurement when one of them
/// did not succeed.
async fn warm_up(
    setup: &Setup,
    runner: &Runner,
    prefix: &str,
    warmup: u64,
    concurrency: usize,
) -> Option<Value> {
    if warmup == 0 {
        return None;
    }
    let (tally, _) = run_batch(setup, runner, prefix, warmup, concurrency).await;
    (tally.not_succeeded > 0).then(|| {
        json!({
            "definition": setup.definition,
            "warmup": warmup,
            "succeeded": tally.succeeded,
            "notSucceeded": tally.not_succeeded,
            "firstFailure": tally.first_failure,
        })
    })
}

/// Runs `count` measured executions, with what the sink was given meanwhile.
async fn measure(
    setup: &Setup,
    runner: &Runner,
    sink: &CountingSink,
    prefix: &str,
    count: u64,
    concurrency: usize,
) -> Measured {
    let (records, events) = (
        sink.records.load(Ordering::Relaxed),
        sink.events.load(Ordering::Relaxed),
    );
    let (tally, latencies) = run_batch(setup, runner, prefix, count, concurrency).await;
    Measured {
        tally,
        latencies,
        events: sink.events.load(Ordering::Relaxed) - events,
        records: sink.records.load(Ordering::Relaxed) - records,
    }
}

fn warmup_count(args: &BenchArgs) -> u64 {
    args.warmup.unwrap_or((args.iterations / 10).min(1000))
}

async fn throughput(setup: &Setup, args: &BenchArgs, threads: usize) -> Result<(Value, Outcome), UsageError> {
    let sink = Arc::new(CountingSink::default());
    let runner = setup.runner(sink.clone());
    let warmup = warmup_count(args);
    if let Some(report) = warm_up(setup, &runner, "warmup", warmup, args.concurrency).await {
        return Ok((report, Outcome::Failed));
    }
    let rss_before = rss_bytes();
    let started = Instant::now();
    let measured = measure(setup, &runner, &sink, "bench", args.iterations, args.concurrency).await;
    let seconds = started.elapsed().as_secs_f64();
    let layout = if threads == 1 { None } else { Some("shared") };
    Ok(report(
        args,
        &runtime_name(threads),
        layout,
        warmup,
        seconds,
        measured,
        rss_before,
    ))
}

/// `--layout per-thread`: each thread loads its own copy of everything, warms up, waits for the
/// others, then runs its share; the time is from the common start to the last thread's end.
fn throughput_per_thread(args: &BenchArgs, threads: usize) -> Result<(Value, Outcome), UsageError> {
    let threads = threads.min(args.concurrency);
    let share =
        |total: u64, t: usize| total / threads as u64 + u64::from((t as u64) < total % threads as u64);
    let start = Arc::new(std::sync::Barrier::new(threads + 1));
    let warmup = warmup_count(args);
    // Loaded before any thread starts, so a bad file stops the command before anyone waits.
    let setups = (0..threads)
        .map(|_| Setup::load(args))
        .collect::<Result<Vec<_>, _>>()?;
    let mut workers = Vec::with_capacity(threads);
    for (t, setup) in setups.into_iter().enumerate() {
        let iterations = share(args.iterations, t);
        let concurrency = usize::try_from(share(args.concurrency as u64, t))
            .unwrap_or(1)
            .max(1);
        let mut start = StartLine(Some(Arc::clone(&start)));
        let worker = std::thread::Builder::new()
            .name(format!("bench-{t}"))
            .spawn(move || -> Result<Result<Measured, Value>, String> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the benchmark runtime: {e}"))?;
                runtime.block_on(async {
                    let sink = Arc::new(CountingSink::default());
                    let runner = setup.runner(sink.clone());
                    let prefix = format!("t{t}");
                    let warmed =
                        warm_up(&setup, &runner, &format!("warmup-{prefix}"), warmup, concurrency).await;
                    start.cross();
                    if let Some(report) = warmed {
                        return Ok(Err(report));
                    }
                    let prefix = format!("bench-{prefix}");
                    Ok(Ok(measure(
                        &setup,
                        &runner,
                        &sink,
                        &prefix,
                        iterations,
                        concurrency,
                    )
                    .await))
                })
            })
            .map_err(|e| UsageError::Usage(format!("cannot start a benchmark thread: {e}")))?;
        workers.push(worker);
    }
    let rss_before = rss_bytes();
    start.wait();
    let started = Instant::now();
    let mut all: Option<Measured> = None;
    let mut failed_warmup = None;
    for worker in workers {
        let measured = worker
            .join()
            .map_err(|_| UsageError::Usage("a benchmark thread panicked".to_owned()))?
            .map_err(UsageError::Usage)?;
        match measured {
            Ok(m) => match &mut all {
                Some(a) => a.merge(m),
                None => all = Some(m),
            },
            Err(report) => failed_warmup = Some(report),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(report) = failed_warmup {
        return Ok((report, Outcome::Failed));
    }
    let measured = all.ok_or_else(|| UsageError::Usage("no benchmark thread ran".to_owned()))?;
    let runtime = format!("{threads} threads, a current-thread runtime each");
    Ok(report(
        args,
        &runtime,
        Some("per-thread"),
        warmup,
        seconds,
        measured,
        rss_before,
    ))
}

#[allow(clippy::too_many_arguments)]
fn report(
    args: &BenchArgs,
    runtime: &str,
    layout: Option<&str>,
    warmup: u64,
    seconds: f64,
    mut measured: Measured,
    rss_before: Option<u64>,
) -> (Value, Outcome) {
    let rss_after = rss_bytes();
    measured.latencies.sort_unstable();
    let n = args.iterations as f64;
    let report = json!({
        "definition": args.definition.display().to_string(),
        "iterations": args.iterations,
        "concurrency": args.concurrency,
        "runtime": runtime,
        "layout": layout,
        "warmup": warmup,
        "seconds": round(seconds, 4),
        "executionsPerSecond": round(n / seconds, 1),
        "p50Micros": percentile(&measured.latencies, 0.50),
        "p99Micros": percentile(&measured.latencies, 0.99),
        "succeeded": measured.tally.succeeded,
        "notSucceeded": measured.tally.not_succeeded,
        "firstFailure": measured.tally.first_failure,
        "historyEventsPerExecution": round(measured.events as f64 / n, 2),
        "sinkRecordsPerExecution": round(measured.records as f64 / n, 2),
        "rssGrowthBytes": rss_after.zip(rss_before).map(|(a, b)| a.saturating_sub(b)),
        "sink": SINK_NOTE,
    });
    (report, measured.tally.outcome())
}

/// Runs `count` executions with `concurrency` in flight; returns the tally and each latency in µs.
async fn run_batch(
    setup: &Setup,
    runner: &Runner,
    prefix: &str,
    count: u64,
    concurrency: usize,
) -> (Tally, Vec<u32>) {
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let next = next.clone();
        let runner = runner.clone();
        let machine = setup.machine.clone();
        let input = setup.input.clone();
        // Each execution's context derives from this one, sharing the machine's ARN and name.
        let machine_ctx = ExecutionContext::new(&setup.machine_arn, prefix, time::OffsetDateTime::now_utc());
        let prefix = prefix.to_owned();
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let name = format!("{prefix}-{i}");
                let ctx = machine_ctx.next(&name, time::OffsetDateTime::now_utc());
                let t0 = Instant::now();
                let result = runner
                    .start(machine.clone(), ctx, input.clone(), DriveMode::UntilComplete)
                    .await
                    .map_err(|e| e.to_string());
                latencies.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                tally.add(result);
            }
            (tally, latencies)
        }));
    }
    let mut tally = Tally::default();
    let mut latencies = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for worker in workers {
        match worker.await {
            Ok((t, l)) => {
                tally.merge(t);
                latencies.extend(l);
            }
            Err(e) => tally.add(Err(format!("benchmark task failed: {e}"))),
        }
    }
    (tally, latencies)
}

async fn park(setup: &Setup, k: u64, mode: ParkMode, threads: usize) -> Result<(Value, Outcome), UsageError> {
    if k == 0 {
        return Err(UsageError::Usage("--park must be at least 1".to_owned()));
    }
    let sink = Arc::new(CountingSink {
        tokens: (mode == ParkMode::Live).then(|| Mutex::new(HashSet::new())),
        ..CountingSink::default()
    });
    let runner = setup.runner(sink.clone());
    // One execution first, so one-off allocations (runtime, registry lookups) are not counted.
    let probe = runner
        .start(
            setup.machine.clone(),
            setup.context("probe"),
            setup.input.clone(),
            DriveMode::UntilIdle,
        )
        .await
        .map_err(|e| UsageError::Usage(e.to_string()))?;
    if !probe.status().is_running() || probe.waiting_task_tokens().is_empty() {
        return Err(UsageError::Usage(format!(
            "--park needs a definition whose executions stop at a .waitForTaskToken task; this one ended {}",
            probe.status().aws_status()
        )));
    }
    let snapshot_bytes = serde_json::to_vec(&probe).map_or(0, |v| v.len());
    let active_states = probe.active_states();
    drop(probe);
    let capacity = usize::try_from(k).unwrap_or(0);
    if let Some(tokens) = &sink.tokens {
        // Sized before the first measurement: only the token strings themselves (~112 B each) add up.
        let mut tokens = tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        tokens.clear();
        tokens.reserve(capacity);
    }
    let rss_before = rss_bytes();
    let started = Instant::now();
    let mut tally = Tally::default();
    let parked;
    let rss_parked;
    match mode {
        ParkMode::Snapshot => {
            let mut kept: Vec<Execution> = Vec::with_capacity(capacity);
            for i in 0..k {
                let result = runner
                    .start(
                        setup.machine.clone(),
                        setup.context(&format!("park-{i}")),
                        setup.input.clone(),
                        DriveMode::UntilIdle,
                    )
                    .await;
                match result {
                    Ok(exec) if exec.status().is_running() => kept.push(exec),
                    other => tally.add(other.map_err(|e| e.to_string())),
                }
            }
            parked = kept.len() as u64;
            rss_parked = rss_bytes();
            drop(kept);
        }
        ParkMode::Live => {
            let mut handles = Vec::with_capacity(capacity);
            for i in 0..k {
                let runner = runner.clone();
                let machine = setup.machine.clone();
                let ctx = setup.context(&format!("park-{i}"));
                let input = setup.input.clone();
                handles.push(tokio::spawn(async move {
                    runner
                        .start(machine, ctx, input, DriveMode::UntilComplete)
                        .await
                        .map_err(|e| e.to_string())
                }));
            }
            let tokens = sink
                .tokens
                .as_ref()
                .ok_or_else(|| UsageError::Usage("no token collector".to_owned()))?;
            let deadline = Instant::now() + Duration::from_secs(600);
            loop {
                let n = tokens
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .len();
                if n as u64 >= k || Instant::now() > deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // Let every runner reach its select loop after its last sink record.
            tokio::time::sleep(Duration::from_millis(50)).await;
            rss_parked = rss_bytes();
            let all = std::mem::take(&mut *tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
            parked = all.len() as u64;
            for token in &all {
                if let Err(e) = runner.send_task_success(token, json!({"parked": true})) {
                    tally.add(Err(format!("send_task_success: {e}")));
                }
            }
            for handle in handles {
                match handle.await {
                    Ok(result) => tally.add(result),
                    Err(e) => tally.add(Err(format!("execution task failed: {e}"))),
                }
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let growth = rss_parked.zip(rss_before).map(|(a, b)| a.saturating_sub(b));
    let per_execution = growth.map(|g| g as f64 / k as f64);
    let not_parked = k - parked;
    let report = json!({
        "definition": setup.definition,
        "mode": match mode { ParkMode::Snapshot => "park-snapshot", ParkMode::Live => "park-live" },
        "runtime": runtime_name(threads),
        "parkedExecutions": parked,
        "notParked": not_parked,
        "parkedAt": active_states,
        "rssBeforeBytes": rss_before,
        "rssParkedBytes": rss_parked,
        "rssPerExecutionBytes": per_execution.map(|b| round(b, 0)),
        "rssPerExecutionKiB": per_execution.map(|b| round(b / 1024.0, 2)),
        "snapshotJsonBytes": snapshot_bytes,
        "completedAfterCallback": tally.succeeded,
        "notSucceeded": tally.not_succeeded,
        "firstFailure": tally.first_failure,
        "seconds": round(seconds, 3),
        "method": match mode {
            ParkMode::Snapshot => "VmRSS growth from /proc/self/status while K Execution snapshots returned by DriveMode::UntilIdle are kept in a Vec, divided by K",
            ParkMode::Live => "VmRSS growth from /proc/self/status while K spawned Runner::start(UntilComplete) futures wait for their task tokens, divided by K (includes the benchmark's own copy of each 96-char token, ~112 B); then every token is sent back",
        },
        "sink": SINK_NOTE,
    });
    let ok = not_parked == 0 && tally.not_succeeded == 0;
    Ok((report, if ok { Outcome::Success } else { Outcome::Failed }))
}

fn runtime_name(threads: usize) -> String {
    if threads == 1 {
        "current-thread".to_owned()
    } else {
        format!("multi-thread ({threads} workers)")
    }
}

/// The resident set size of this process, from `/proc/self/status` (Linux only).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(rank).copied()
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
