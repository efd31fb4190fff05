//! `stepcart bench`: the output shape, and that every benchmarked execution succeeded. Small numbers,
//! and never an assertion on timing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The checkout workflow on the happy-path cart; with its stubs, every task answers.
fn checkout(stubs: bool, rest: &[&str]) -> (i32, Value, String) {
    let mut args = vec![
        "workflows/checkout.asl.json",
        "--input",
        "examples/carts/happy-path.json",
    ];
    if stubs {
        args.extend(["--stubs", "scripts/bench/checkout-stubs.json"]);
    }
    args.extend(rest);
    bench(&args)
}

fn bench(args: &[&str]) -> (i32, Value, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_stepcart"))
        .arg("bench")
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("stepcart runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    (output.status.code().unwrap_or(-1), json, stderr)
}

fn assert_throughput_shape(report: &Value, iterations: u64, concurrency: u64) {
    assert_eq!(report["iterations"], iterations, "{report}");
    assert_eq!(report["concurrency"], concurrency, "{report}");
    assert!(report["seconds"].as_f64().is_some(), "{report}");
    assert!(report["executionsPerSecond"].as_f64().is_some(), "{report}");
    assert!(report["p50Micros"].as_u64().is_some(), "{report}");
    assert!(
        report["sink"]
            .as_str()
            .is_some_and(|s| s.contains("nothing persisted")),
        "{report}"
    );
}

#[test]
fn ten_state_workflow_single_threaded() {
    let (code, report, stderr) = bench(&[
        "scripts/bench/workflows/ten-state.asl.json",
        "--input",
        "scripts/bench/ten-state-input.json",
        "--iterations",
        "20",
        "--warmup",
        "2",
    ]);
    assert_eq!(code, 0, "{report}\n{stderr}");
    assert_throughput_shape(&report, 20, 1);
    assert_eq!(report["runtime"], "current-thread");
    assert_eq!(report["succeeded"], 20);
    assert_eq!(report["notSucceeded"], 0);
    // 8 of the 10 states run: ExecutionStarted, 8 x (entered + exited), ExecutionSucceeded.
    assert_eq!(report["historyEventsPerExecution"], 18.0);
}

#[test]
fn checkout_workflow_with_stubs_and_concurrency() {
    let (code, report, stderr) = checkout(
        true,
        &["--iterations", "16", "--concurrency", "4", "--warmup", "0"],
    );
    assert_eq!(code, 0, "{report}\n{stderr}");
    assert_throughput_shape(&report, 16, 4);
    assert_eq!(report["succeeded"], 16);
    assert_eq!(report["notSucceeded"], 0);
}

#[test]
fn both_layouts_split_or_share_the_work_and_count_every_execution() {
    for layout in ["per-thread", "shared"] {
        let (code, report, stderr) = checkout(
            true,
            &[
                "--iterations",
                "17",
                "--concurrency",
                "3",
                "--threads",
                "2",
                "--warmup",
                "1",
                "--layout",
                layout,
            ],
        );
        assert_eq!(code, 0, "{report}\n{stderr}");
        assert_throughput_shape(&report, 17, 3);
        assert_eq!(report["layout"], layout, "{report}");
        assert_eq!(report["succeeded"], 17, "{report}");
        assert_eq!(report["notSucceeded"], 0, "{report}");
        let runtime = report["runtime"].as_str().unwrap_or_default();
        assert!(
            runtime.starts_with("2 threads") || runtime.starts_with("multi-thread"),
            "{report}"
        );
    }
}

#[test]
fn a_failed_warm_up_on_one_thread_stops_every_thread() {
    // Without stubs every execution fails: each thread's warm-up fails, and none waits for the others.
    let (code, report, stderr) = checkout(
        false,
        &[
            "--iterations",
            "4",
            "--concurrency",
            "2",
            "--threads",
            "2",
            "--warmup",
            "1",
        ],
    );
    assert_eq!(code, 1, "{report}\n{stderr}");
    assert_eq!(report["notSucceeded"], 1, "{report}");
    assert_eq!(report["firstFailure"]["status"], "FAILED", "{report}");
}

#[test]
fn failures_are_counted_not_measured_silently() {
    // Without stubs every Task of the checkout fails with Lambda.ResourceNotFoundException.
    let (code, report, stderr) = checkout(false, &["--iterations", "5", "--warmup", "0"]);
    assert_eq!(code, 1, "{report}\n{stderr}");
    assert_eq!(report["succeeded"], 0);
    assert_eq!(report["notSucceeded"], 5);
    assert_eq!(report["firstFailure"]["status"], "FAILED", "{report}");
}

#[test]
fn parked_executions_report_memory() {
    for mode in ["snapshot", "live"] {
        let (code, report, stderr) = bench(&[
            "scripts/bench/workflows/ten-state-parked.asl.json",
            "--input",
            "scripts/bench/ten-state-input.json",
            "--stubs",
            "scripts/bench/park-stubs.json",
            "--park",
            "10",
            "--park-mode",
            mode,
        ]);
        assert_eq!(code, 0, "{report}\n{stderr}");
        assert_eq!(report["parkedExecutions"], 10, "{report}");
        assert_eq!(report["notParked"], 0, "{report}");
        assert_eq!(report["parkedAt"], serde_json::json!(["Done"]), "{report}");
        assert!(report["snapshotJsonBytes"].as_u64().is_some_and(|b| b > 0));
        assert!(report["method"].as_str().is_some());
    }
}
