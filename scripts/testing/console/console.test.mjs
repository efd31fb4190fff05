// Browser test of the stepcart web console (`stepcart serve`, GET /console), with playwright-core and
// the system Chromium. It starts the server on a fresh store, runs three checkouts through POST /checkouts,
// then drives the console like a user: the executions list (badges, status filter, search), a FAILED and a
// SUCCEEDED execution (graph nodes and their colours, state input/output, event history), the state
// machine page, and the API-key prompt. It saves the screenshots of docs/screenshots/.
//
//   npm install --prefix scripts/testing/console
//   node scripts/testing/console/console.test.mjs
//
// Env: STEPCART_BIN (default $CARGO_TARGET_DIR/debug/stepcart or <repo>/target/debug/stepcart),
//      STEPCART_SCREENSHOTS (default <repo>/docs/screenshots), STEPCART_CHROMIUM (default /usr/bin/chromium),
//      STEPCART_CONSOLE_FROM_REPO=1 (serve the console files from the repo, see below).
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = process.env.STEPCART_BIN || join(resolve(REPO, process.env.CARGO_TARGET_DIR || 'target'), 'debug', 'stepcart');
const SHOTS = resolve(process.env.STEPCART_SCREENSHOTS || join(REPO, 'docs/screenshots'));
const CHROMIUM = process.env.STEPCART_CHROMIUM || '/usr/bin/chromium';
const API_KEY = 'console-test-key';
const WEBHOOK_SECRET = 'whsec_console_test';
// STEPCART_CONSOLE_FROM_REPO=1: the browser gets the console files from crates/cli/console instead of the
// binary (to work on the console without rebuilding); otherwise the test insists that they are the same.
const FROM_REPO = process.env.STEPCART_CONSOLE_FROM_REPO === '1';

const servers = [];
let browser;
const tmp = mkdtempSync(join(tmpdir(), 'stepcart-console-'));

class TestFailure extends Error {}
function check(cond, message) {
  if (!cond) throw new TestFailure(message);
}
async function step(name, fn) {
  const t = Date.now();
  await fn();
  console.log(`  ✓ ${name} (${Date.now() - t} ms)`);
}

// ------------------------------------------------------------------ server

async function startServer(label, extraArgs = []) {
  const db = join(tmp, `${label}.db`);
  const env = { ...process.env };
  delete env.STEPCART_API_KEY;
  const child = spawn(BIN, ['serve', '--addr', '127.0.0.1:0', '--db', db, ...extraArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const exited = new Promise((res) => child.once('close', (code, sig) => res({ code, sig })));
  const first = new Promise((res) => createInterface({ input: child.stdout }).once('line', res));
  const timeout = new Promise((res) => setTimeout(() => res(null), 30000));
  const line = await Promise.race([first, exited.then(() => null), timeout]);
  if (child.stdout.readable) child.stdout.resume();
  const m = typeof line === 'string' && line.match(/listening on (http:\/\/127\.0\.0\.1:(\d+))/);
  check(m, `${BIN} serve did not print "listening on http://127.0.0.1:PORT" as its first line ` +
    `(got ${JSON.stringify(line)}, exit ${child.exitCode ?? 'none'}).\nserver stderr:\n${stderr}`);
  return { url: m[1], child, stderr: () => stderr };
}

async function http(base, method, path, { body, headers = {} } = {}) {
  const res = await fetch(base + path, {
    method, headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

async function sfn(base, op, input) {
  const r = await http(base, 'POST', '/', {
    body: input, headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': `AWSStepFunctions.${op}` },
  });
  check(r.status === 200, `${op} answered HTTP ${r.status}: ${r.text.slice(0, 300)}`);
  return r.json;
}

async function checkout(base, name, cart) {
  const body = typeof cart === 'string' ? readFileSync(join(REPO, 'examples/carts', cart), 'utf8') : JSON.stringify(cart);
  const cartFile = typeof cart === 'string' ? cart : name;
  const r = await http(base, 'POST', '/checkouts', { body, headers: { 'Idempotency-Key': name } });
  check([200, 201, 202].includes(r.status) && r.json?.executionArn,
    `POST /checkouts (${cartFile}) answered HTTP ${r.status}: ${r.text.slice(0, 300)}`);
  const deadline = Date.now() + 30000;
  for (;;) {
    const s = await http(base, 'GET', `/checkouts/${encodeURIComponent(name)}`);
    check(s.status === 200, `GET /checkouts/${name} answered HTTP ${s.status}: ${s.text.slice(0, 300)}`);
    if (s.json.status !== 'RUNNING') return { ...s.json, executionArn: s.json.executionArn ?? r.json.executionArn };
    check(Date.now() < deadline, `checkout ${name} still RUNNING after 30 s`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

// All state names of a definition, nested Parallel branches and Map processors included.
function stateNames(def) {
  const out = [];
  for (const [name, st] of Object.entries(def.States || {})) {
    out.push(name);
    for (const b of st.Branches || []) out.push(...stateNames(b));
    const p = st.ItemProcessor || st.Iterator;
    if (p) out.push(...stateNames(p));
  }
  return out;
}

// ------------------------------------------------------------------ page helpers

async function waitFor(page, what, fn, arg, timeout = 10000) {
  try {
    return await page.waitForFunction(fn, arg, { timeout, polling: 100 });
  } catch (e) {
    throw new TestFailure(`timed out after ${timeout} ms waiting for ${what}`);
  }
}
const listedRows = (page) => page.$$eval('#executions tbody tr[data-name]', (trs) =>
  trs.map((tr) => ({ name: tr.dataset.name, status: tr.dataset.status, badge: tr.querySelector('.badge')?.textContent })));
const nodeStatuses = (page) => page.$$eval('svg.graph g.node[data-state]', (gs) =>
  Object.fromEntries(gs.map((g) => [g.getAttribute('data-state'), g.getAttribute('data-status')])));
async function paneJson(page, sel) {
  const text = await page.textContent(`${sel} pre.json`).catch(() => null);
  check(text != null, `${sel} shows no JSON`);
  try { return JSON.parse(text); } catch { throw new TestFailure(`${sel} is not valid JSON: ${text.slice(0, 200)}`); }
}
async function shot(page, file) {
  await page.waitForTimeout(300); // let the layout settle (fit-to-width, scroll to the interesting state)
  await page.screenshot({ path: join(SHOTS, file) });
  console.log(`    screenshot ${join(SHOTS, file)}`);
}

// ------------------------------------------------------------------ the test

async function main() {
  check(existsSync(BIN), `no stepcart binary at ${BIN}: run \`cargo build --workspace --all-features\` or set STEPCART_BIN`);
  check(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: \`apt-get install -y chromium\` or set STEPCART_CHROMIUM`);
  mkdirSync(SHOTS, { recursive: true });

  const server = await startServer('stepcart', ['--stripe-webhook-secret', WEBHOOK_SECRET]);
  const base = server.url;
  console.log(`server at ${base} (db in ${tmp})`);
  for (const file of FROM_REPO ? [] : ['index.html', 'console.js', 'console.css']) {
    const served = await http(base, 'GET', file === 'index.html' ? '/console' : `/console/${file}`);
    check(served.status === 200, `GET /console (${file}) answered HTTP ${served.status}`);
    check(served.text === readFileSync(join(REPO, 'crates/cli/console', file), 'utf8'),
      `the server serves another ${file} than crates/cli/console/${file}: the binary is stale, rebuild it (cargo build --workspace --all-features)`);
  }

  const runs = {};
  await step('checkouts through POST /checkouts', async () => {
    runs.happy = await checkout(base, 'console-happy-path', 'happy-path.json');
    runs.declined = await checkout(base, 'console-declined-card', 'declined-card.json');
    runs.oos = await checkout(base, 'console-out-of-stock', 'out-of-stock.json');
    check(runs.happy.status === 'SUCCEEDED', `happy-path ended ${runs.happy.status}, expected SUCCEEDED`);
    check(runs.declined.status === 'FAILED' && runs.declined.error === 'PaymentDeclined',
      `declined-card ended ${runs.declined.status}/${runs.declined.error}, expected FAILED/PaymentDeclined`);
    check(runs.oos.status === 'FAILED' && runs.oos.error === 'OutOfStock', `out-of-stock ended ${runs.oos.status}/${runs.oos.error}, expected FAILED/OutOfStock`);
  });
  const machine = await sfn(base, 'DescribeStateMachineForExecution', { executionArn: runs.declined.executionArn });
  const definition = JSON.parse(machine.definition);
  const allStates = stateNames(definition);
  check(allStates.length > 10, `the checkout definition has only ${allStates.length} states`);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  context.setDefaultTimeout(10000);
  if (FROM_REPO) {
    const types = { 'index.html': 'text/html; charset=utf-8', 'console.js': 'text/javascript', 'console.css': 'text/css' };
    await context.route(/\/console(\/console\.(js|css))?$/, (route) => {
      const file = new URL(route.request().url()).pathname.replace(/^\/console\/?/, '') || 'index.html';
      route.fulfill({ status: 200, contentType: types[file], body: readFileSync(join(REPO, 'crates/cli/console', file), 'utf8') });
    });
  }
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });

  await step('executions list shows SUCCEEDED and FAILED badges', async () => {
    const res = await page.goto(`${base}/console`);
    check(res.status() === 200, `GET /console answered HTTP ${res.status()}`);
    await waitFor(page, 'the three executions in the list', () => document.querySelectorAll('#executions tbody tr[data-name^="console-"]').length === 3);
    const rows = await listedRows(page);
    const by = Object.fromEntries(rows.map((r) => [r.name, r]));
    check(by['console-happy-path']?.badge === 'SUCCEEDED', `happy-path row badge is ${by['console-happy-path']?.badge}`);
    check(by['console-declined-card']?.badge === 'FAILED', `declined-card row badge is ${by['console-declined-card']?.badge}`);
    check(by['console-out-of-stock']?.badge === 'FAILED', `out-of-stock row badge is ${by['console-out-of-stock']?.badge}`);
    check(rows[0].name === 'console-out-of-stock', `newest execution is not first: ${rows.map((r) => r.name)}`);
    await shot(page, 'console-executions.png');
  });

  await step('status filter and search narrow the list', async () => {
    await page.click('#status-filter button[data-status="FAILED"]');
    await waitFor(page, 'only FAILED rows', () => {
      const rows = [...document.querySelectorAll('#executions tbody tr[data-name]')];
      return rows.length === 2 && rows.every((r) => r.dataset.status === 'FAILED');
    });
    await page.click('#status-filter button[data-status="SUCCEEDED"]');
    await waitFor(page, 'only the SUCCEEDED row', () => {
      const rows = [...document.querySelectorAll('#executions tbody tr[data-name]')];
      return rows.length === 1 && rows[0].dataset.name === 'console-happy-path';
    });
    check(page.url().includes('status=SUCCEEDED'), `the status filter is not in the URL: ${page.url()}`);
    await page.click('#status-filter button[data-status="ALL"]');
    await page.fill('#search', 'declined');
    await waitFor(page, 'search "declined" to leave one row', () => {
      const rows = [...document.querySelectorAll('#executions tbody tr[data-name]')];
      return rows.length === 1 && rows[0].dataset.name === 'console-declined-card';
    });
    await page.fill('#search', 'no-such-execution');
    await waitFor(page, 'an empty list for an unknown name', () =>
      document.querySelectorAll('#executions tbody tr[data-name]').length === 0 && /No executions/.test(document.querySelector('#executions tbody').textContent));
    await page.fill('#search', '');
    await waitFor(page, 'the full list again', () => document.querySelectorAll('#executions tbody tr[data-name]').length === 3);
  });

  await step('FAILED execution: graph colours, history, state input/output', async () => {
    await page.click('#executions tr[data-name="console-declined-card"] a');
    await waitFor(page, 'the execution page of declined-card', () =>
      document.querySelector('#exec-status .badge')?.textContent === 'FAILED' && document.querySelectorAll('svg.graph g.node[data-status]').length > 0);
    const nodes = await nodeStatuses(page);
    const drawn = Object.keys(nodes).sort(), expected = [...allStates].sort();
    check(JSON.stringify(drawn) === JSON.stringify(expected), `graph nodes ${drawn} differ from the definition's states ${expected}`);
    const want = { ValidateCart: 'succeeded', ReserveStock: 'succeeded', PriceOrder: 'succeeded', AuthorizePayment: 'caught',
      ReleaseStock: 'succeeded', NotifyPaymentFailed: 'succeeded', CheckoutFailed: 'failed', CreateOrder: 'notrun', CheckoutSucceeded: 'notrun', RefundPayment: 'notrun' };
    for (const [state, status] of Object.entries(want)) check(nodes[state] === status, `node ${state} is "${nodes[state]}", expected "${status}"`);
    const header = await page.textContent('#exec-error');
    check(header.includes('PaymentDeclined'), `the failure box does not name PaymentDeclined: ${header}`);

    const history = await sfn(base, 'GetExecutionHistory', { executionArn: runs.declined.executionArn, maxResults: 1000 });
    const rows = await page.$$eval('#history tbody tr[data-type]', (trs) => trs.map((tr) => tr.dataset.type));
    check(rows.length === history.events.length, `history table has ${rows.length} rows, the API ${history.events.length} events`);
    check(rows[0] === 'ExecutionStarted' && rows.includes('ExecutionFailed'), `history rows lack ExecutionStarted/ExecutionFailed: ${rows.slice(0, 3)}…`);
    await page.click('#history tr[data-type="ExecutionFailed"]');
    await waitFor(page, 'the ExecutionFailed details', () => /PaymentDeclined/.test(document.querySelector('#history tr.detail')?.textContent || ''));

    await page.click('svg.graph g.node[data-state="AuthorizePayment"]');
    await waitFor(page, 'the AuthorizePayment pane', () => document.querySelector('#state-panel h2')?.textContent.startsWith('AuthorizePayment'));
    const input = await paneJson(page, '#state-input');
    const output = await paneJson(page, '#state-output');
    check(input.paymentMethod === 'pm_card_visa_chargeDeclined', `AuthorizePayment input lacks the cart: ${JSON.stringify(input).slice(0, 200)}`);
    check(output.error?.Error === 'PaymentDeclined', `AuthorizePayment output lacks $.error.Error = PaymentDeclined: ${JSON.stringify(output).slice(0, 200)}`);
    const errors = await page.textContent('#state-errors');
    check(/PaymentDeclined/.test(errors) && /Caught/.test(errors), `the errors pane does not show the caught PaymentDeclined: ${errors}`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'console-execution-failed.png');
  });

  await step('SUCCEEDED execution: path succeeded, ExecutionSucceeded, state output', async () => {
    await page.click('.crumbs a[href="#/"]');
    await page.click('#executions tr[data-name="console-happy-path"] a');
    await waitFor(page, 'the execution page of happy-path', () =>
      document.querySelector('#exec-status .badge')?.textContent === 'SUCCEEDED' && document.querySelectorAll('svg.graph g.node[data-status]').length > 0);
    const history = await sfn(base, 'GetExecutionHistory', { executionArn: runs.happy.executionArn, maxResults: 1000 });
    const entered = new Set(history.events.filter((e) => e.type.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails.name));
    check(entered.has('CreateOrder') && entered.has('CheckoutSucceeded'), `happy-path history did not enter CreateOrder/CheckoutSucceeded`);
    const nodes = await nodeStatuses(page);
    check(Object.keys(nodes).length === allStates.length, `graph has ${Object.keys(nodes).length} nodes, expected ${allStates.length}`);
    for (const [state, status] of Object.entries(nodes)) {
      const want = entered.has(state) ? 'succeeded' : 'notrun';
      check(status === want, `node ${state} is "${status}", expected "${want}"`);
    }
    const rows = await page.$$eval('#history tbody tr[data-type]', (trs) => trs.map((tr) => tr.dataset.type));
    check(rows.includes('ExecutionStarted') && rows[rows.length - 1] === 'ExecutionSucceeded', `history lacks ExecutionStarted/ExecutionSucceeded`);
    check(!(await page.$('#exec-error')), 'a SUCCEEDED execution shows a failure box');
    const out = await paneJson(page, '#exec-output');
    check(/^ord_/.test(out.orderId ?? ''), `execution output pane lacks the orderId: ${JSON.stringify(out).slice(0, 200)}`);

    await page.click('svg.graph g.node[data-state="CreateOrder"]');
    await waitFor(page, 'the CreateOrder pane', () => document.querySelector('#state-panel h2')?.textContent.startsWith('CreateOrder'));
    const input = await paneJson(page, '#state-input');
    const output = await paneJson(page, '#state-output');
    check(input.payment && input.pricing, `CreateOrder input lacks payment/pricing: ${JSON.stringify(input).slice(0, 200)}`);
    check(/^ord_/.test(output.order?.orderId ?? ''), `CreateOrder output lacks $.order.orderId: ${JSON.stringify(output).slice(0, 200)}`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'console-execution-succeeded.png');
  });

  await step('state machine page: definition, graph, its executions', async () => {
    await page.click('#exec-header a[href^="#/statemachine/"]');
    await waitFor(page, 'the state machine page', () => document.querySelector('#definition pre.json') && document.querySelectorAll('svg.graph g.node[data-state]').length > 0);
    const shown = await paneJson(page, '#definition');
    check(shown.StartAt === definition.StartAt && Object.keys(shown.States).length === Object.keys(definition.States).length,
      'the definition pane does not show the definition');
    const nodes = await nodeStatuses(page);
    check(Object.keys(nodes).length === allStates.length, `graph has ${Object.keys(nodes).length} nodes, expected ${allStates.length}`);
    check(Object.values(nodes).every((s) => s === null), 'the state machine graph is coloured');
    await waitFor(page, 'its three executions', () => document.querySelectorAll('#executions tbody tr[data-name]').length === 3);
    await shot(page, 'console-state-machine.png');
    await page.click('svg.graph g.node[data-state="AuthorizePayment"]');
    await waitFor(page, 'the AuthorizePayment definition', () => /PaymentDeclined/.test(document.querySelector('#definition pre.json')?.textContent || ''));
    await page.click('a[data-nav="statemachines"]');
    await waitFor(page, 'the state machine list', () => document.querySelectorAll('#statemachines tbody tr[data-name]').length >= 1);
  });

  await step('RUNNING execution updates live (3-D Secure, then the webhook)', async () => {
    const cart = readFileSync(join(REPO, 'examples/carts/three-d-secure.json'), 'utf8');
    const r = await http(base, 'POST', '/checkouts', { body: cart, headers: { 'Idempotency-Key': 'console-three-d-secure' } });
    check(r.status === 202 && r.json?.executionArn, `POST /checkouts (three-d-secure) answered HTTP ${r.status}: ${r.text.slice(0, 300)}`);
    let paymentId;
    for (const deadline = Date.now() + 30000; !paymentId; await new Promise((res) => setTimeout(res, 200))) {
      const s = await http(base, 'GET', '/checkouts/console-three-d-secure');
      check(s.json?.status === 'RUNNING', `three-d-secure is ${s.json?.status}, expected RUNNING until authenticated`);
      paymentId = s.json.nextAction?.paymentId;
      check(paymentId || Date.now() < deadline, 'three-d-secure never showed nextAction.paymentId');
    }
    await page.goto(`${base}/console#/execution/${encodeURIComponent(r.json.executionArn)}`);
    await waitFor(page, 'WaitForAuthentication in progress', () =>
      document.querySelector('#exec-status .badge')?.textContent === 'RUNNING' &&
      document.querySelector('svg.graph g.node[data-state="WaitForAuthentication"]')?.getAttribute('data-status') === 'running');
    const nodes = await nodeStatuses(page);
    check(nodes.AuthorizePayment === 'succeeded' && nodes.CreateOrder === 'notrun', `while waiting: AuthorizePayment ${nodes.AuthorizePayment}, CreateOrder ${nodes.CreateOrder}`);
    await shot(page, 'console-execution-running.png');

    const payload = JSON.stringify({ id: `evt_console_${Date.now()}`, object: 'event', type: 'payment_intent.succeeded',
      data: { object: { id: paymentId, object: 'payment_intent', status: 'succeeded' } } });
    const ts = Math.floor(Date.now() / 1000);
    const sig = createHmac('sha256', WEBHOOK_SECRET).update(`${ts}.${payload}`).digest('hex');
    const hook = await http(base, 'POST', '/webhooks/stripe', { body: payload, headers: { 'Stripe-Signature': `t=${ts},v1=${sig}` } });
    check(hook.status === 200, `POST /webhooks/stripe answered HTTP ${hook.status}: ${hook.text.slice(0, 300)}`);
    await waitFor(page, 'the page to turn SUCCEEDED without a reload', () =>
      document.querySelector('#exec-status .badge')?.textContent === 'SUCCEEDED' &&
      document.querySelector('svg.graph g.node[data-state="CheckoutSucceeded"]')?.getAttribute('data-status') === 'succeeded', undefined, 15000);
    const after = await nodeStatuses(page);
    check(after.WaitForAuthentication === 'succeeded' && after.CreateOrder === 'succeeded', `after the webhook: WaitForAuthentication ${after.WaitForAuthentication}, CreateOrder ${after.CreateOrder}`);
    check(await page.$('#history tr[data-type="ExecutionSucceeded"]'), 'the history did not gain ExecutionSucceeded');
  });

  await step('Parallel and Map as nested graphs, retries and errors from the real engine', async () => {
    // A machine of Pass/Choice/Fail states (no functions needed) plus a Task on a missing function:
    // a Map iteration fails (caught on the Map), and the Task is retried once, then caught.
    const definition = {
      StartAt: 'Init',
      States: {
        Init: { Type: 'Pass', Result: { items: [{ ok: true }, { ok: false }, { ok: true }] }, Next: 'Fan' },
        Fan: { Type: 'Parallel', ResultPath: '$.fan', Next: 'PerItem', Branches: [
          { StartAt: 'A1', States: { A1: { Type: 'Pass', Next: 'A2' }, A2: { Type: 'Succeed' } } },
          { StartAt: 'B1', States: { B1: { Type: 'Pass', End: true } } }] },
        PerItem: { Type: 'Map', ItemsPath: '$.items', ResultPath: '$.results', Next: 'Flaky',
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.mapError', Next: 'Flaky' }],
          ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'Check', States: {
            Check: { Type: 'Choice', Choices: [{ Variable: '$.ok', BooleanEquals: true, Next: 'Good' }], Default: 'Bad' },
            Good: { Type: 'Pass', End: true },
            Bad: { Type: 'Fail', Error: 'BadItem', Cause: 'item not ok' } } } },
        Flaky: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:console-test-missing',
          Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: 1 }],
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.flakyError', Next: 'Done' }], Next: 'Done' },
        Done: { Type: 'Succeed' },
      },
    };
    const created = await sfn(base, 'CreateStateMachine', { name: 'console-nested', definition: JSON.stringify(definition),
      roleArn: 'arn:aws:iam::000000000000:role/console-test', type: 'STANDARD' });
    const started = await sfn(base, 'StartExecution', { stateMachineArn: created.stateMachineArn, name: 'console-nested-1', input: '{}' });
    let status;
    for (const deadline = Date.now() + 30000; (status = (await sfn(base, 'DescribeExecution', { executionArn: started.executionArn })).status) === 'RUNNING';) {
      check(Date.now() < deadline, 'the nested execution is still RUNNING after 30 s');
      await new Promise((res) => setTimeout(res, 200));
    }
    check(status === 'SUCCEEDED', `the nested execution ended ${status}, expected SUCCEEDED`);
    await page.goto(`${base}/console#/execution/${encodeURIComponent(started.executionArn)}`);
    await waitFor(page, 'the nested execution', () => document.querySelectorAll('svg.graph g.node[data-status]').length > 0);
    const nodes = await nodeStatuses(page);
    check(JSON.stringify(Object.keys(nodes).sort()) === JSON.stringify(stateNames(definition).sort()), `nested graph nodes: ${Object.keys(nodes)}`);
    check(await page.$('svg.graph g.node.compound[data-state="Fan"]') && await page.$('svg.graph g.node.compound[data-state="PerItem"]'),
      'Parallel and Map are not drawn as boxes');
    const want = { Init: 'succeeded', Fan: 'succeeded', A1: 'succeeded', A2: 'succeeded', B1: 'succeeded', PerItem: 'caught',
      Check: 'succeeded', Good: 'succeeded', Bad: 'failed', Flaky: 'caught', Done: 'succeeded' };
    for (const [state, s] of Object.entries(want)) check(nodes[state] === s, `nested node ${state} is "${nodes[state]}", expected "${s}"`);
    const badge = await page.textContent('svg.graph g.node[data-state="Flaky"] .retry text').catch(() => null);
    check(badge === '↻1', `Flaky's retry badge is ${JSON.stringify(badge)}, expected "↻1"`);
    await page.click('svg.graph g.node[data-state="Bad"]');
    await waitFor(page, 'the Bad pane', () => document.querySelector('#state-panel h2')?.textContent.startsWith('Bad'));
    check((await paneJson(page, '#state-input')).ok === false, 'the Bad state input is not the failing item');
    await page.click('svg.graph g.node[data-state="Flaky"]');
    await waitFor(page, 'the Flaky attempts', () => document.querySelectorAll('#state-errors li').length === 2);
    await page.click('#graph .graph-tools button[title="Zoom out"]');
    await page.click('#graph .graph-tools button[title="Zoom out"]');
    await page.evaluate(() => { // show the Parallel and Map boxes
      const sc = document.querySelector('.graph-scroll'), fan = document.querySelector('svg.graph g.node[data-state="Fan"]');
      sc.scrollTop += fan.getBoundingClientRect().top - sc.getBoundingClientRect().top - 8;
      window.scrollTo(0, 0);
    });
    await shot(page, 'console-execution-nested.png');
  });

  await step('console escapes API strings', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const cart = JSON.parse(readFileSync(join(REPO, 'examples/carts/happy-path.json'), 'utf8'));
    cart.shippingAddress = { ...cart.shippingAddress, name: evil };
    const run = await checkout(base, 'console-escaping', cart);
    await page.goto(`${base}/console#/execution/${encodeURIComponent(run.executionArn)}`);
    await waitFor(page, 'the escaping execution', () => document.querySelectorAll('svg.graph g.node[data-status]').length > 0);
    const input = await paneJson(page, '#exec-input');
    check(input.shippingAddress?.name === evil, 'the input pane does not show the markup as text');
    check(!(await page.evaluate(() => window.__pwned)) && !(await page.$('#exec-input img')), 'API data was interpreted as HTML');
  });

  await step('API key prompt (server started with --api-key)', async () => {
    const locked = await startServer('locked', ['--api-key', API_KEY]);
    const denied = await http(locked.url, 'POST', '/', { body: {}, headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'AWSStepFunctions.ListExecutions' } });
    check(denied.status === 403 || denied.status === 401, `the locked server answered HTTP ${denied.status} without a key`);
    const p2 = await context.newPage();
    p2.on('pageerror', (e) => pageErrors.push(e.message));
    await p2.goto(`${locked.url}/console`);
    await waitFor(p2, 'the API key dialog', () => document.querySelector('#apikey-dialog')?.open === true);
    await p2.fill('#apikey-input', API_KEY);
    await p2.click('#apikey-dialog button[value="ok"]');
    await waitFor(p2, 'the list after entering the key', () => document.querySelector('#executions tbody td') && !document.querySelector('#apikey-dialog').open);
    const banner = await p2.$('.error-banner');
    check(!banner, `an error shows after entering the key: ${banner && await banner.textContent()}`);
    check(await p2.evaluate(() => localStorage.getItem('stepcart.apiKey')) === API_KEY, 'the key was not kept in localStorage');
    await p2.close();
  });

  check(pageErrors.length === 0, `the page reported errors:\n  ${pageErrors.join('\n  ')}`);
}

async function cleanup() {
  await browser?.close().catch(() => {});
  await Promise.all(servers.map((child) => new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => { clearTimeout(t); res(); });
    child.kill('SIGTERM');
  })));
  rmSync(tmp, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { console.error(`\n✗ console test interrupted (${sig})`); process.exitCode = 130; cleanup().finally(() => process.exit()); });
}
const started = Date.now();
console.log(`console test: ${BIN}`);
try {
  await main();
  console.log(`console test passed in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${SHOTS}`);
} catch (e) {
  process.exitCode = 1;
  console.error(`\n✗ console test FAILED: ${e instanceof TestFailure ? e.message : e.stack || e}`);
  for (const s of servers) if (s.exitCode !== null) console.error(`  (a server exited with ${s.exitCode})`);
} finally {
  await cleanup();
}
