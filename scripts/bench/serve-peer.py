"""The Step Functions API side by side: stepcart serve and moto's server (its Step Functions with
`execute_state_machine` on), both driven by boto3 with the same 10-state Pass/Choice workflow. Each of
`--clients` threads starts an execution and polls DescribeExecution until it ends, then starts the next.

Usage: python serve-peer.py --endpoint URL --executions N [--clients C] [--label NAME]
Prints one JSON line: label, executions, seconds, executionsPerSecond, p50Ms, p99Ms (start to end).
"""

import argparse
import json
import threading
import time
import uuid

import boto3
from botocore.config import Config


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--executions", type=int, required=True)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--label", default="server")
    parser.add_argument("--definition", default="scripts/bench/workflows/ten-state.asl.json")
    parser.add_argument("--input", default="scripts/bench/ten-state-input.json")
    args = parser.parse_args()

    config = Config(retries={"max_attempts": 0}, max_pool_connections=args.clients * 2)
    client = boto3.client(
        "stepfunctions",
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=config,
    )
    definition = open(args.definition).read()
    execution_input = open(args.input).read()
    machine = client.create_state_machine(
        name=f"bench-{uuid.uuid4().hex[:8]}",
        definition=definition,
        roleArn="arn:aws:iam::123456789012:role/bench",
    )["stateMachineArn"]

    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    remaining = [args.executions]

    def worker() -> None:
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            began = time.perf_counter()
            arn = client.start_execution(
                stateMachineArn=machine, name=uuid.uuid4().hex, input=execution_input
            )["executionArn"]
            while True:
                status = client.describe_execution(executionArn=arn)["status"]
                if status != "RUNNING":
                    break
                time.sleep(0.002)
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                if status != "SUCCEEDED":
                    failures.append(f"{arn}: {status}")

    began = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 2)

    print(json.dumps({
        "label": args.label,
        "executions": len(latencies),
        "failed": len(failures),
        "seconds": round(seconds, 2),
        "executionsPerSecond": round(len(latencies) / seconds, 1),
        "p50Ms": pct(50),
        "p99Ms": pct(99),
    }))
    if failures:
        raise SystemExit(f"{len(failures)} executions did not succeed, e.g. {failures[0]}")


if __name__ == "__main__":
    main()
