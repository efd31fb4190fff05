// The peer in scripts/bench/engine.sh: aws-local-stepfunctions (npm, 3.x), an in-process ASL
// interpreter in JavaScript, run the same way `stepcart bench` runs stepcart.
//
//   node scripts/bench/peer.mjs DEFINITION.json --input FILE [--iterations N] [--concurrency C]
//        [--workers W] [--warmup N] [--stubs FILE] [--module PATH]
//
// One StateMachine instance per worker is reused (its constructor validates for ~300 ms). Task states
// are answered by `overrides.taskResourceLocalHandlers`, keyed by state name: each Task state gets the
// stub output of its function (from the Resource ARN or, for arn:aws:states:::lambda:invoke, the
// FunctionName), with `${name}` placeholders rendered as in `stepcart bench`. C executions are in flight
// at once; Node runs them on one thread, so with C > 1 the script starts W worker threads (default:
// every core), each with its own StateMachine and C/W executions in flight, to use the same cores as
// stepcart's multi-thread runtime. Prints one JSON line shaped like `stepcart bench`.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, resolve } from 'node:path';
import { Worker, isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';

// Node 20: aws-local-stepfunctions 3.x uses Promise.withResolvers (Node 22); set it before importing.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const here = dirname(fileURLToPath(import.meta.url));
const defaultModule = resolve(here, '../../.tools/node_modules/aws-local-stepfunctions/build/main.node.esm.js');

function parseArgs(argv) {
  const args = { iterations: 1000, concurrency: 1, warmup: undefined, workers: undefined, module: defaultModule };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--input': args.input = next(); break;
      case '--iterations': args.iterations = Number(next()); break;
      case '--concurrency': args.concurrency = Number(next()); break;
      case '--workers': args.workers = Number(next()); break;
      case '--warmup': args.warmup = Number(next()); break;
      case '--stubs': args.stubs = next(); break;
      case '--module': args.module = next(); break;
      default: rest.push(a);
    }
  }
  if (rest.length !== 1) throw new Error('usage: peer.mjs DEFINITION.json --input FILE [--iterations N] [--concurrency C] [--workers W] [--stubs FILE]');
  args.definition = rest[0];
  if (!(args.iterations >= 1 && args.concurrency >= 1)) throw new Error('--iterations and --concurrency must be at least 1');
  return args;
}

// `${validate_cart_function_arn}` -> arn:...:function:validate-cart, as `stepcart bench` renders it.
function render(text) {
  return text.replace(/\$\$\{|\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}/g, (m, name) => {
    if (m === '$${') return '${';
    const base = name.replace(/_function_arn$/, '').replace(/_arn$/, '').replaceAll('_', '-');
    return `arn:aws:lambda:us-east-1:000000000000:function:${base}`;
  });
}

function functionName(ref) {
  const tail = ref.includes(':function:') ? ref.split(':function:')[1] : ref;
  return tail.split(':')[0];
}

// Task state name -> local handler returning the stub output of its function (all nesting levels).
function taskHandlers(definition, stubs) {
  const handlers = {};
  const missing = [];
  const visit = (states) => {
    for (const [name, state] of Object.entries(states ?? {})) {
      if (state.Type === 'Task') {
        const integration = state.Resource.startsWith('arn:aws:states:::lambda:invoke');
        const fn = functionName(integration ? state.Parameters?.FunctionName ?? '' : state.Resource);
        const output = stubs[fn] ?? stubs[state.Resource];
        if (output === undefined) missing.push(`${name} (${fn})`);
        const json = JSON.stringify(output ?? null);
        handlers[name] = async () => JSON.parse(json);
      }
      for (const branch of state.Branches ?? []) visit(branch.States);
      visit((state.ItemProcessor ?? state.Iterator)?.States);
    }
  };
  visit(definition.States);
  return { handlers, missing };
}

async function runBatch(machine, input, handlers, count, concurrency, latencies) {
  let next = 0;
  let succeeded = 0;
  let notSucceeded = 0;
  let firstFailure = null;
  const worker = async () => {
    while (next < count) {
      const name = `bench-${threadId}-${next++}`;
      const t0 = process.hrtime.bigint();
      try {
        // The context object as Step Functions fills it (the checkout reads $$.Execution.Name).
        const context = {
          Execution: {
            Id: `arn:aws:states:us-east-1:000000000000:execution:bench:${name}`,
            Name: name,
            Input: input,
            StartTime: new Date().toISOString(),
            RoleArn: 'arn:aws:iam::000000000000:role/bench',
          },
          StateMachine: { Id: 'arn:aws:states:us-east-1:000000000000:stateMachine:bench', Name: 'bench' },
        };
        const execution = machine.run(input, { overrides: { taskResourceLocalHandlers: handlers }, context });
        await execution.result;
        succeeded++;
      } catch (error) {
        notSucceeded++;
        firstFailure ??= { status: 'FAILED', error: error?.name ?? String(error), cause: error?.message ?? null };
      }
      latencies?.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { succeeded, notSucceeded, firstFailure };
}

async function load(args) {
  const { StateMachine } = await import(pathToFileURL(args.module).href);
  const definition = JSON.parse(render(readFileSync(args.definition, 'utf8')));
  const input = args.input ? JSON.parse(readFileSync(args.input, 'utf8')) : {};
  const stubs = args.stubs ? JSON.parse(readFileSync(args.stubs, 'utf8')) : {};
  const { handlers, missing } = taskHandlers(definition, stubs);
  const machine = new StateMachine(definition);
  return { machine, input, handlers, missing };
}

// One thread's share: warm up, wait for the go signal, run, report.
async function workerMain() {
  const { args, count, concurrency, warmup } = workerData;
  const { machine, input, handlers } = await load(args);
  if (warmup > 0) await runBatch(machine, input, handlers, warmup, concurrency, null);
  parentPort.postMessage({ ready: true });
  await new Promise((res) => parentPort.once('message', res));
  const latencies = [];
  const tally = await runBatch(machine, input, handlers, count, concurrency, latencies);
  parentPort.postMessage({ done: true, tally, latencies });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.round((sorted.length - 1) * p)]);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const warmup = args.warmup ?? Math.min(Math.floor(args.iterations / 10), 1000);
  const workers = Math.max(1, Math.min(args.workers ?? (args.concurrency === 1 ? 1 : availableParallelism()), args.concurrency));
  let tally;
  let latencies = [];
  let seconds;
  const { machine, input, handlers, missing } = await load(args);
  if (missing.length > 0) console.error(`warning: no stub for Task states: ${missing.join(', ')}`);
  if (workers === 1) {
    if (warmup > 0) await runBatch(machine, input, handlers, warmup, args.concurrency, null);
    const t0 = process.hrtime.bigint();
    tally = await runBatch(machine, input, handlers, args.iterations, args.concurrency, latencies);
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  } else {
    const share = (total, i) => Math.floor(total / workers) + (i < total % workers ? 1 : 0);
    const threads = Array.from({ length: workers }, (_, i) => new Worker(fileURLToPath(import.meta.url), {
      workerData: { args, count: share(args.iterations, i), concurrency: Math.max(1, share(args.concurrency, i)), warmup: share(warmup, i) },
    }));
    const message = (w, key) => new Promise((res, rej) => {
      const onMessage = (m) => { if (m[key]) { w.off('message', onMessage); res(m); } };
      w.on('message', onMessage);
      w.once('error', rej);
    });
    await Promise.all(threads.map((w) => message(w, 'ready')));
    const t0 = process.hrtime.bigint();
    const done = threads.map((w) => message(w, 'done'));
    threads.forEach((w) => w.postMessage({ go: true }));
    const results = await Promise.all(done);
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    tally = { succeeded: 0, notSucceeded: 0, firstFailure: null };
    for (const r of results) {
      tally.succeeded += r.tally.succeeded;
      tally.notSucceeded += r.tally.notSucceeded;
      tally.firstFailure ??= r.tally.firstFailure;
      latencies = latencies.concat(r.latencies);
    }
    await Promise.all(threads.map((w) => w.terminate()));
  }
  latencies.sort((a, b) => a - b);
  const report = {
    engine: 'aws-local-stepfunctions',
    definition: args.definition,
    iterations: args.iterations,
    concurrency: args.concurrency,
    runtime: workers === 1 ? 'node main thread' : `node worker_threads (${workers})`,
    warmup,
    seconds: Math.round(seconds * 1e4) / 1e4,
    executionsPerSecond: Math.round((args.iterations / seconds) * 10) / 10,
    p50Micros: percentile(latencies, 0.5),
    p99Micros: percentile(latencies, 0.99),
    succeeded: tally.succeeded,
    notSucceeded: tally.notSucceeded,
    firstFailure: tally.firstFailure,
    node: process.version,
  };
  console.log(JSON.stringify(report));
  process.exitCode = tally.notSucceeded === 0 ? 0 : 1;
}

if (isMainThread) {
  main().catch((error) => {
    console.error(`error: ${error?.stack ?? error}`);
    process.exit(2);
  });
} else {
  workerMain().catch((error) => {
    console.error(`worker error: ${error?.stack ?? error}`);
    process.exit(2);
  });
}
