// Builds docs/conformance.md from the per-case results of stepcart-asl and aws-local-stepfunctions.
// Usage: node scripts/conformance/report.mjs <cases-dir> <stepcart.json> <peer.json> > docs/conformance.md
import fs from 'node:fs';
import path from 'node:path';

const [casesDir, oursFile, peerFile] = process.argv.slice(2);
const ours = JSON.parse(fs.readFileSync(oursFile, 'utf8'));
const peer = JSON.parse(fs.readFileSync(peerFile, 'utf8'));

const FEATURES = {
  'jsonpath-io': 'InputPath, Parameters, ResultSelector, ResultPath, OutputPath, `.$`, `$$`',
  'jsonpath-syntax': 'JSONPath syntax, Reference Paths',
  intrinsics: 'Intrinsic functions (`States.*`)',
  choice: 'Choice operators, And/Or/Not, Default, NoChoiceMatched',
  'pass-fail-succeed': 'Pass, Fail, Succeed',
  wait: 'Wait (Seconds, Timestamp, *Path)',
  retry: 'Retry (order, MaxAttempts, States.ALL, TaskFailed, Timeout)',
  catch: 'Catch (order, ResultPath, error output)',
  parallel: 'Parallel',
  map: 'Map (inline, ItemBatcher, tolerated failures)',
  callbacks: '`.waitForTaskToken` callbacks',
  payload: '256 KiB payload limit',
  variables: 'Variables (`Assign`, scope)',
  jsonata: 'JSONata (`QueryLanguage`, Arguments, Output, Condition, `$states`, functions)',
  validation: 'Definition validation',
};

const ids = Array.from(new Set([...Object.keys(ours.results), ...Object.keys(peer.results)])).sort();
const areas = new Map();
for (const id of ids) {
  const area = id.split('/')[0];
  if (!areas.has(area)) areas.set(area, []);
  areas.get(area).push(id);
}
const pass = (r) => (r?.pass ? 'pass' : r ? 'FAIL' : 'n/a');
const esc = (s) => String(s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 200);

const lines = [];
const date = new Date().toISOString().slice(0, 10);
lines.push('# ASL conformance: stepcart-asl vs aws-local-stepfunctions', '');
lines.push(`Generated ${date} by \`scripts/conformance/run.sh\` (stepcart: \`cargo test --workspace --all-features --test conformance\`; peer: \`node scripts/conformance/peer.mjs\` on ${peer.engine}).`, '');
lines.push('Each case under `crates/asl/tests/conformance/<area>/<case>.json` states one rule from the Amazon States Language');
lines.push('spec or the AWS Step Functions documentation (its `source` field links the section), with the expected');
lines.push('status, output, error name and, where AWS documents it, cause. stepcart cases listed in');
lines.push('`crates/asl/tests/conformance/KNOWN_FAILURES.txt` are expected failures: the suite stays green and reports any that start passing.', '');

const totals = { n: 0, ours: 0, known: 0, peer: 0 };
lines.push('## Summary', '');
lines.push('| Area | Feature | Cases | stepcart pass | stepcart fail (known) | aws-local-stepfunctions pass | aws-local-stepfunctions fail |');
lines.push('|---|---|---:|---:|---:|---:|---:|');
for (const [area, list] of areas) {
  const o = list.filter((id) => ours.results[id]?.pass).length;
  const k = list.filter((id) => !ours.results[id]?.pass && ours.results[id]?.known_failure).length;
  const p = list.filter((id) => peer.results[id]?.pass).length;
  totals.n += list.length;
  totals.ours += o;
  totals.known += k;
  totals.peer += p;
  lines.push(`| ${area} | ${FEATURES[area] ?? ''} | ${list.length} | ${o} | ${list.length - o} (${k}) | ${p} | ${list.length - p} |`);
}
lines.push(`| **Total** | | **${totals.n}** | **${totals.ours}** | **${totals.n - totals.ours} (${totals.known})** | **${totals.peer}** | **${totals.n - totals.peer}** |`, '');

lines.push('## Per area', '');
for (const [area, list] of areas) {
  lines.push(`### ${area}`, '');
  lines.push('| Case | Rule | stepcart | aws-local-stepfunctions |', '|---|---|---|---|');
  for (const id of list) {
    let desc = '';
    try {
      desc = JSON.parse(fs.readFileSync(path.join(casesDir, `${id}.json`), 'utf8')).description;
    } catch {
      desc = '';
    }
    const o = ours.results[id];
    const oTxt = o?.pass ? 'pass' : o?.known_failure ? 'FAIL (known)' : pass(o);
    lines.push(`| \`${id.split('/').slice(1).join('/')}\` | ${esc(desc)} | ${oTxt} | ${pass(peer.results[id])} |`);
  }
  lines.push('');
}

lines.push('## Where the two differ', '');
lines.push('| Case | stepcart | aws-local-stepfunctions |', '|---|---|---|');
let diffs = 0;
for (const id of ids) {
  const o = ours.results[id];
  const p = peer.results[id];
  if (!!o?.pass === !!p?.pass) continue;
  diffs += 1;
  const oTxt = o?.pass ? 'pass' : `FAIL: ${esc(o?.detail)}`;
  const pTxt = p?.pass ? 'pass' : `FAIL: ${esc(p?.detail)}`;
  lines.push(`| \`${id}\` | ${oTxt} | ${pTxt} |`);
}
if (diffs === 0) lines.push('| (none) | | |');
lines.push('');
lines.push('Notes on the peer: it has no task-token support (callback cases cannot pass), no JSONata, no variables and no');
lines.push('Distributed Map; its definition validator reports JSON-schema errors that often do not name the offending field, so');
lines.push('a `validation` case fails on the peer when the definition is rejected but the message lacks the expected field name.');
lines.push('');
lines.push('Reproduce: `scripts/conformance/run.sh` (installs the peer into `.tools/conformance` with `npm install --prefix`).');
process.stdout.write(lines.join('\n') + '\n');
