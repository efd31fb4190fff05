// Runs the conformance cases (crates/asl/tests/conformance/**.json) on aws-local-stepfunctions, the
// peer ASL interpreter, and writes one JSON result per case.
//
// Usage: node scripts/conformance/peer.mjs <cases-dir> <results.json> [<node_modules dir>]
//
// Lambda tasks are answered from each case's scripted `tasks` through
// `overrides.taskResourceLocalHandlers` (keyed by state name); Wait states and Retry intervals are
// overridden to 0 ms so the run does not sleep. `callbacks` cannot be delivered: the peer has no
// task-token support, so those cases run the Lambda answer as the task result and are expected to differ.

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// aws-local-stepfunctions 3.x uses Promise.withResolvers (Node 22+); polyfill it for Node 20.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const [casesDir, outFile, modulesDir] = process.argv.slice(2);
if (!casesDir || !outFile) {
  console.error('usage: node peer.mjs <cases-dir> <results.json> [<node_modules dir>]');
  process.exit(2);
}
const pkgDir = path.resolve(modulesDir ?? 'node_modules', 'aws-local-stepfunctions');
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
const { StateMachine, ExecutionTimeoutError } = await import(pathToFileURL(path.join(pkgDir, 'build/main.node.esm.js')).href);

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Conformance';
const FUNCTION_ARN_PREFIX = 'arn:aws:lambda:us-east-1:123456789012:function:';
const DEFAULT_EXECUTION_NAME = 'conformance-run';
const CASE_TIMEOUT_MS = 20000;

function listCases(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listCases(p));
    else if (entry.name.endsWith('.json')) out.push(p);
  }
  return out.sort();
}

// Every state of a definition, nested ones (Parallel branches, Map processors) included.
function allStates(def, out = []) {
  for (const [name, st] of Object.entries(def?.States ?? {})) {
    out.push([name, st]);
    for (const b of st.Branches ?? []) allStates(b, out);
    if (st.ItemProcessor) allStates(st.ItemProcessor, out);
    if (st.Iterator) allStates(st.Iterator, out);
  }
  return out;
}

function functionName(state) {
  const r = state.Resource ?? '';
  if (r.startsWith(FUNCTION_ARN_PREFIX)) return r.slice(FUNCTION_ARN_PREFIX.length);
  const fn = state.Parameters?.FunctionName ?? state.Arguments?.FunctionName;
  if (typeof fn === 'string') return fn.startsWith(FUNCTION_ARN_PREFIX) ? fn.slice(FUNCTION_ARN_PREFIX.length) : fn;
  return null;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function jsonEq(a, b) {
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}
function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
  }
  return v;
}

function check(expect, actual) {
  if (expect.status !== actual.status) return `expected ${expect.status}, got ${JSON.stringify(actual)}`;
  if ('output' in expect && !jsonEq(expect.output, actual.output)) {
    return `output differs: expected ${JSON.stringify(expect.output)}, got ${JSON.stringify(actual.output)}`;
  }
  if ('error' in expect && expect.error !== actual.error) {
    return `error differs: expected ${JSON.stringify(expect.error)}, got ${JSON.stringify(actual)}`;
  }
  if ('cause' in expect && expect.cause !== actual.cause) {
    return `cause differs: expected ${JSON.stringify(expect.cause)}, got ${JSON.stringify(actual.cause)}`;
  }
  return null;
}

async function runCase(c) {
  const expect = c.expect;
  let machine;
  try {
    machine = new StateMachine(c.definition);
  } catch (e) {
    const text = String(e?.message ?? e);
    if (expect.validation) {
      const lower = text.toLowerCase();
      const missing = expect.validation.filter((s) => !lower.includes(s.toLowerCase()));
      return { pass: missing.length === 0, detail: missing.length ? `validation error lacks ${JSON.stringify(missing)}: ${text}` : '', actual: { validation: text } };
    }
    return { pass: false, detail: `definition rejected: ${text}`, actual: { validation: text } };
  }
  if (expect.validation) {
    return { pass: false, detail: 'definition was accepted, expected a validation error', actual: { validation: null } };
  }

  const queues = Object.fromEntries(Object.entries(c.tasks ?? {}).map(([k, v]) => [k, { answers: v, n: 0 }]));
  const taskResourceLocalHandlers = {};
  const waitTimeOverrides = {};
  const retryIntervalOverrides = {};
  for (const [name, st] of allStates(c.definition)) {
    if (st.Type === 'Wait') waitTimeOverrides[name] = 0;
    if (st.Retry) retryIntervalOverrides[name] = 0;
    if (st.Type !== 'Task') continue;
    const fn = functionName(st);
    taskResourceLocalHandlers[name] = async (input) => {
      const q = queues[fn];
      if (!q || q.answers.length === 0) {
        const err = new Error(`Function not found: ${FUNCTION_ARN_PREFIX}${fn}`);
        err.name = 'Lambda.ResourceNotFoundException';
        throw err;
      }
      const answer = q.answers[Math.min(q.n, q.answers.length - 1)];
      q.n += 1;
      if (answer.delaySeconds) await sleep(Math.min(answer.delaySeconds, 5) * 1000);
      if (answer.error !== undefined) {
        const err = new Error(answer.cause ?? '');
        err.name = answer.error;
        throw err;
      }
      if (answer.echo) return input;
      return answer.output ?? null;
    };
  }
  const name = c.context?.executionName ?? DEFAULT_EXECUTION_NAME;
  const context = {
    Execution: {
      Id: STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:') + ':' + name,
      Input: c.input,
      Name: name,
      StartTime: '2024-05-01T12:00:00.000Z',
    },
    StateMachine: { Id: STATE_MACHINE_ARN, Name: 'Conformance' },
  };
  let actual;
  try {
    const execution = machine.run(c.input, {
      overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
      context,
    });
    let timer;
    const timeout = new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error('__case_timeout__')), CASE_TIMEOUT_MS);
    });
    try {
      const output = await Promise.race([execution.result, timeout]);
      actual = { status: 'SUCCEEDED', output };
    } finally {
      clearTimeout(timer);
      if (!actual) execution.abort?.();
    }
  } catch (e) {
    if (e?.message === '__case_timeout__') {
      return { pass: false, detail: 'timed out (real time)', actual: null };
    }
    if (ExecutionTimeoutError && e instanceof ExecutionTimeoutError) {
      actual = { status: 'TIMED_OUT', error: 'States.Timeout' };
    } else {
      const inner = e?.cause ?? e;
      actual = { status: 'FAILED', error: inner?.name ?? 'Error', cause: inner?.message ?? null };
    }
  }
  const problem = check(expect, actual);
  return { pass: problem === null, detail: problem ?? '', actual };
}

const results = {};
for (const file of listCases(casesDir)) {
  const id = path.relative(casesDir, file).replace(/\\/g, '/').replace(/\.json$/, '');
  const c = JSON.parse(fs.readFileSync(file, 'utf8'));
  try {
    results[id] = await runCase(c);
  } catch (e) {
    results[id] = { pass: false, detail: `peer crashed: ${e?.stack ?? e}`, actual: null };
  }
}
const passed = Object.values(results).filter((r) => r.pass).length;
fs.writeFileSync(outFile, JSON.stringify({ engine: `aws-local-stepfunctions ${pkg.version}`, results }, null, 2));
console.log(`aws-local-stepfunctions ${pkg.version}: ${passed}/${Object.keys(results).length} cases pass`);
// Unhandled rejections from aborted executions must not keep the process alive.
process.exit(0);
