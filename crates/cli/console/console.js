// stepcart web console: plain ES2020, no dependencies. Talks only to the server's Step Functions
// JSON 1.0 API (POST / with X-Amz-Target). Every string from the API reaches the DOM through
// textContent / text nodes / setAttribute, never innerHTML.
'use strict';

const KEY_STORAGE = 'stepcart.apiKey';
const PAGE = 100;
const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];
const SVGNS = 'http://www.w3.org/2000/svg';

// ---------------------------------------------------------------- DOM helpers

function h(tag, attrs, ...kids) {
  return fill(document.createElement(tag), attrs, kids);
}
function s(tag, attrs, ...kids) {
  return fill(document.createElementNS(SVGNS, tag), attrs, kids);
}
function fill(el, attrs, kids) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids.flat(Infinity)) {
    if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}
const $ = (sel, root = document) => root.querySelector(sel);
// replaceChildren that, like h(), flattens arrays and skips null/false.
const put = (el, ...kids) => el.replaceChildren(...kids.flat(Infinity).filter((k) => k != null && k !== false));

// ---------------------------------------------------------------- formatting

const pad = (n, w = 2) => String(n).padStart(w, '0');
function fmtDate(epoch) {
  if (epoch == null) return '—';
  const d = new Date(epoch * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
function fmtDur(ms) {
  if (ms == null || !isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  const sec = Math.floor(ms / 1000);
  if (sec < 3600) return `${Math.floor(sec / 60)} min ${sec % 60} s`;
  return `${Math.floor(sec / 3600)} h ${Math.floor(sec / 60) % 60} min`;
}
const execDuration = (e) => (e.startDate == null ? null : ((e.stopDate ?? Date.now() / 1000) - e.startDate) * 1000);
const lastSegment = (arn) => String(arn || '').split(':').pop();
const badge = (status) => h('span', { class: `badge s-${String(status).toLowerCase()}` }, status);
const ellipsize = (t, n) => (t.length > n ? t.slice(0, n - 1) + '…' : t);

function parseMaybe(v) {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  if (!/^[[{"]|^-?\d|^(true|false|null)$/.test(t)) return v;
  try { return JSON.parse(t); } catch { return v; }
}

// Pretty JSON in a <pre>, syntax coloured with spans built from text nodes.
function jsonView(value, attrs = {}) {
  const text = typeof value === 'string' && parseMaybe(value) === value ? value : JSON.stringify(parseMaybe(value), null, 2);
  const pre = h('pre', { class: 'json', ...attrs });
  const re = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
  let last = 0, m;
  while ((m = re.exec(text))) {
    if (m.index > last) pre.append(text.slice(last, m.index));
    const cls = m[1] ? (m[2] ? 'k' : 's') : m[3] ? 'b' : 'n';
    pre.append(h('span', { class: cls }, m[1] ?? m[0]));
    if (m[2]) pre.append(m[2]);
    last = re.lastIndex;
  }
  pre.append(text.slice(last));
  return pre;
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, type, message) { super(message || type || `HTTP ${status}`); this.status = status; this.type = type; }
}
let keyPrompt = null;
let keyDeclined = false; // after Cancel, polling must not reopen the dialog every 2 s; the API key button does

async function api(op, input = {}, attempt = 0) {
  const headers = { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': `AWSStepFunctions.${op}` };
  const key = localStorage.getItem(KEY_STORAGE);
  if (key) headers['x-api-key'] = key;
  let res;
  try {
    res = await fetch('/', { method: 'POST', headers, body: JSON.stringify(input) });
  } catch (e) {
    setConn(false, 'server unreachable');
    throw new ApiError(0, 'NetworkError', `Cannot reach the stepcart server (${e.message}).`);
  }
  let data = null;
  try { data = await res.json(); } catch { /* empty or non-JSON body */ }
  if (res.ok) { setConn(true); return data || {}; }
  const type = String(data?.__type ?? '').split('#').pop();
  const message = data?.message ?? data?.Message ?? res.statusText;
  if ((res.status === 403 || res.status === 401) && attempt < 3 &&
      (/AccessDenied|MissingAuthenticationToken|UnrecognizedClient|Unauthorized/i.test(type) || !type)) {
    if (!keyDeclined && await askApiKey(key ? `The API key was refused: ${message}` : `${message || 'This server requires an API key.'}`)) {
      return api(op, input, attempt + 1);
    }
  }
  setConn(res.status < 500, res.status >= 500 ? 'server error' : undefined);
  throw new ApiError(res.status, type, type ? `${type}: ${message}` : message);
}

function askApiKey(reason) {
  if (keyPrompt) return keyPrompt;
  const dlg = $('#apikey-dialog');
  $('#apikey-reason').textContent = reason || 'Enter the key given to stepcart serve --api-key.';
  $('#apikey-input').value = localStorage.getItem(KEY_STORAGE) || '';
  keyPrompt = new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      keyPrompt = null;
      const v = $('#apikey-input').value.trim();
      if (dlg.returnValue === 'ok' && v) { localStorage.setItem(KEY_STORAGE, v); keyDeclined = false; resolve(true); return; }
      if (dlg.returnValue === 'clear') localStorage.removeItem(KEY_STORAGE);
      keyDeclined = true;
      resolve(false);
    }, { once: true });
  });
  dlg.returnValue = '';
  dlg.showModal();
  return keyPrompt;
}

function setConn(ok, why) {
  const el = $('#conn');
  el.textContent = ok ? `connected to ${location.host}` : why || 'error';
  el.classList.toggle('err', !ok);
}

async function fetchHistory(executionArn) {
  const events = [];
  let nextToken;
  do {
    const r = await api('GetExecutionHistory', { executionArn, maxResults: 1000, includeExecutionData: true, ...(nextToken ? { nextToken } : {}) });
    events.push(...(r.events || []));
    nextToken = r.nextToken;
  } while (nextToken);
  return events;
}

// ---------------------------------------------------------------- ASL graph: model and layout

const G = { NW: 226, NH: 42, GX: 28, GY: 46, DW: 10, PAD: 14, HEAD: 40, PW: 62, PH: 24, M: 24 };
const START = '\u0001start', END = '\u0001end';

function ruleText(r) {
  if (!r || typeof r !== 'object') return '';
  if (r.Condition != null) return String(r.Condition);
  if (Array.isArray(r.And)) return r.And.map(ruleText).join(' && ');
  if (Array.isArray(r.Or)) return r.Or.map(ruleText).join(' || ');
  if (r.Not) return `!(${ruleText(r.Not)})`;
  const op = Object.keys(r).find((k) => !['Variable', 'Next', 'Comment', 'Assign', 'Output'].includes(k));
  if (!op) return String(r.Variable ?? '?');
  const isPath = op.endsWith('Path');
  const base = op.replace(/Path$/, '').replace(/^(String|Numeric|Boolean|Timestamp)/, '');
  const sym = { Equals: '==', LessThan: '<', GreaterThan: '>', LessThanEquals: '<=', GreaterThanEquals: '>=', Matches: '~' }[base];
  const val = isPath ? String(r[op]) : JSON.stringify(r[op]);
  return sym ? `${r.Variable} ${sym} ${val}` : `${r.Variable} ${op}${r[op] === true ? '' : ' ' + val}`;
}

function transitions(st) {
  const out = [];
  if (st.Type === 'Choice') {
    for (const c of st.Choices || []) if (c.Next) out.push({ to: c.Next, kind: 'choice', label: ruleText(c) });
    if (st.Default) out.push({ to: st.Default, kind: 'choice', label: 'Default' });
  } else if (st.Next) out.push({ to: st.Next, kind: 'next' });
  for (const c of st.Catch || []) if (c.Next) out.push({ to: c.Next, kind: 'catch', title: `Catch ${(c.ErrorEquals || []).join(', ')}` });
  return out;
}

function subMachines(st) {
  if (st.Type === 'Parallel') return (st.Branches || []).map((b, i) => ({ def: b, label: `Branch ${i + 1}` }));
  if (st.Type === 'Map') {
    const p = st.ItemProcessor || st.Iterator;
    return p ? [{ def: p, label: 'Iteration' }] : [];
  }
  return [];
}

function typeLabel(st) {
  const r = String(st.Resource || '');
  if (st.Type !== 'Task') return st.Type === 'Map' && st.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED' ? 'Map (distributed)' : st.Type;
  const svc = r.match(/^arn:aws:states:::([\w-]+(?::[\w.-]+)?)/);
  const lambda = r.match(/:function:([^:]+)/) || String(st.Parameters?.FunctionName ?? '').match(/:function:([^:]+)/);
  const wait = /\.waitForTaskToken$/.test(r) ? ' · callback' : /\.sync(:\d)?$/.test(r) ? ' · sync' : '';
  return `Task${wait} · ${lambda ? `λ ${lambda[1]}` : svc ? svc[1].replace(/\.waitForTaskToken|\.sync.*/, '') : 'activity'}`;
}

// Layered layout (Sugiyama-style): DFS cycle breaking, longest-path layers, dummy nodes on long edges,
// barycenter ordering, then x by isotonic regression so nodes sit over their neighbours without overlap.
function layoutGraph(def) {
  const states = def && typeof def.States === 'object' && def.States ? def.States : {};
  const names = Object.keys(states);
  const nodes = new Map([[START, { name: START, w: G.PW, h: G.PH, pseudo: 'Start' }]]);
  for (const n of names) nodes.set(n, sizeState(n, states[n]));
  const edges = [];
  if (states[def.StartAt]) edges.push({ from: START, to: def.StartAt, kind: 'next' });
  for (const n of names) {
    const st = states[n] || {};
    for (const t of transitions(st)) if (t.to in states) edges.push({ from: n, ...t });
    if (st.End || st.Type === 'Succeed' || st.Type === 'Fail') edges.push({ from: n, to: END, kind: 'end' });
  }
  if (edges.some((e) => e.to === END)) nodes.set(END, { name: END, w: G.PW, h: G.PH, pseudo: 'End' });

  const out = new Map([...nodes.keys()].map((k) => [k, []]));
  edges.forEach((e) => out.get(e.from).push(e));
  const mark = new Map(), post = [];
  const dfs = (n) => {
    mark.set(n, 1);
    for (const e of out.get(n)) {
      if (e.from === e.to) { e.self = true; continue; }
      const m = mark.get(e.to);
      if (m === 1) e.back = true; else if (!m) dfs(e.to);
    }
    mark.set(n, 2);
    post.push(n);
  };
  for (const n of nodes.keys()) if (!mark.get(n)) dfs(n);

  const layerOf = new Map();
  for (const n of post.reverse()) {
    if (!layerOf.has(n)) layerOf.set(n, 0);
    for (const e of out.get(n)) if (!e.back && !e.self) layerOf.set(e.to, Math.max(layerOf.get(e.to) ?? 0, layerOf.get(n) + 1));
  }
  if (nodes.has(END)) layerOf.set(END, Math.max(0, ...[...layerOf].filter(([k]) => k !== END).map(([, l]) => l)) + 1);
  const nLayers = Math.max(...layerOf.values()) + 1;
  const layers = Array.from({ length: nLayers }, () => []);
  const V = new Map();
  for (const [n, node] of nodes) {
    const v = { id: n, node, w: node.w, h: node.h, layer: layerOf.get(n), up: [], down: [] };
    V.set(n, v);
    layers[v.layer].push(v);
  }
  const shared = new Map();
  for (const e of edges) {
    if (e.self) { e.selfV = V.get(e.from); continue; }
    const a = V.get(e.from), b = V.get(e.to);
    if (e.back) { e.chain = [a, b]; continue; } // drawn around the right side, see below
    // Long edges of one kind into one target share their dummies: they merge into one lane.
    const chain = [a];
    for (let l = a.layer + 1; l < b.layer; l++) {
      const key = `${e.to}\u0000${e.kind === 'catch'}\u0000${l}`;
      let d = shared.get(key);
      if (!d) { d = { dummy: true, w: G.DW, h: 0, layer: l, up: [], down: [] }; shared.set(key, d); layers[l].push(d); }
      chain.push(d);
    }
    chain.push(b);
    const w = e.kind === 'catch' ? 1 : 4; // the main path pulls harder than error routes when placing x
    for (let i = 0; i + 1 < chain.length; i++) {
      chain[i].down.push(chain[i + 1]); chain[i + 1].up.push(chain[i]);
      chain[i].dw = (chain[i].dw || []).concat(w); chain[i + 1].uw = (chain[i + 1].uw || []).concat(w);
    }
    e.chain = chain;
  }

  const avg = (xs) => xs.reduce((p, c) => p + c, 0) / xs.length;
  layers.forEach((L) => L.forEach((v, i) => { v.ord = i; }));
  for (let it = 0; it < 8; it++) {
    const down = it % 2 === 0;
    for (const L of down ? layers.slice(1) : layers.slice(0, -1).reverse()) {
      for (const v of L) { const nb = down ? v.up : v.down; v.bc = nb.length ? avg(nb.map((u) => u.ord)) : v.ord; }
      L.sort((p, q) => p.bc - q.bc).forEach((v, i) => { v.ord = i; });
    }
  }
  const gap = (p, q) => p.w / 2 + q.w / 2 + (p.dummy || q.dummy ? G.GX / 2 : G.GX);
  for (const L of layers) { let x = 0; L.forEach((v, i) => { x += i ? gap(L[i - 1], v) : 0; v.x = x; }); }
  for (let it = 0; it < 16; it++) {
    for (const L of it % 2 ? layers.slice().reverse() : layers) {
      const want = L.map((v) => {
        const nb = v.up.concat(v.down), ws = (v.uw || []).concat(v.dw || []);
        const sw = ws.reduce((p, c) => p + c, 0);
        return nb.length ? nb.reduce((p, u, i) => p + u.x * ws[i], 0) / sw : v.x;
      });
      const off = [0];
      for (let i = 1; i < L.length; i++) off.push(off[i - 1] + gap(L[i - 1], L[i]));
      const q = isotonic(want.map((w, i) => w - off[i]));
      L.forEach((v, i) => { v.x = q[i] + off[i]; });
    }
  }
  const all = [...V.values(), ...layers.flat().filter((v) => v.dummy)];
  const minX = Math.min(...all.map((v) => v.x - v.w / 2));
  const maxX = Math.max(...all.map((v) => v.x + v.w / 2));
  const tops = [];
  let y = 0;
  // Below a Choice with several labelled edges the gap grows so that its labels can stack.
  const busy = new Set(names.filter((n) => edges.filter((e) => e.from === n && e.label && !e.back).length > 1).map((n) => layerOf.get(n)));
  layers.forEach((L, l) => { const lh = Math.max(0, ...L.map((v) => v.h)); tops.push([y, lh]); y += lh + G.GY + (busy.has(l) ? 24 : 0); });
  for (const L of layers) {
    for (const v of L) {
      const [top, lh] = tops[v.layer];
      v.x -= minX; v.cy = top + lh / 2; v.top = v.cy - v.h / 2; v.bot = v.cy + v.h / 2;
      v.band = [top, top + lh];
    }
  }
  // Back edges (loops) leave the source's bottom, run up a lane right of everything between, and
  // enter the target's top from the gap above it; each loop gets its own lane.
  let right = maxX - minX + (edges.some((e) => e.self) ? 44 : 0);
  const lanes = [];
  for (const e of edges.filter((x) => x.back).sort((p, q) => (p.chain[0].layer - p.chain[1].layer) - (q.chain[0].layer - q.chain[1].layer))) {
    const [from, to] = e.chain;
    const span = all.filter((v) => v.layer >= to.layer && v.layer <= from.layer);
    let lane = Math.max(...span.map((v) => v.x + v.w / 2)) + 22;
    for (const l of lanes) if (l.top <= from.layer && to.layer <= l.bot && l.x >= lane - 10) lane = l.x + 14;
    lanes.push({ x: lane, top: to.layer, bot: from.layer });
    e.lane = lane;
    right = Math.max(right, lane + 12);
  }
  return { w: right, h: y - G.GY - (busy.has(layers.length - 1) ? 24 : 0), nodes: [...V.values()], edges };
}

function sizeState(name, st) {
  const subs = subMachines(st || {});
  if (!subs.length) return { name, st, w: G.NW, h: G.NH };
  let w = G.PAD, h = 0;
  const inner = subs.map((sm) => {
    const g = layoutGraph(sm.def || {});
    g.ox = w; g.label = sm.label;
    w += g.w + G.PAD; h = Math.max(h, g.h);
    return g;
  });
  return { name, st, inner, w: Math.max(w, G.NW), h: G.HEAD + 12 + h + G.PAD };
}

// Pool-adjacent-violators: the non-decreasing sequence closest (least squares) to t.
function isotonic(t) {
  const blocks = [];
  for (const v of t) {
    blocks.push({ sum: v, n: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1], a = blocks[blocks.length - 2];
      if (a.sum / a.n <= b.sum / b.n) break;
      a.sum += b.sum; a.n += b.n; blocks.pop();
    }
  }
  return blocks.flatMap((b) => Array(b.n).fill(b.sum / b.n));
}

// ---------------------------------------------------------------- SVG rendering

function renderGraph(def, onSelect) {
  const lay = layoutGraph(def);
  const W = lay.w + 2 * G.M, H = lay.h + 2 * G.M;
  const svg = s('svg', { class: 'graph', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': 'State machine graph' });
  svg.append(s('defs', {},
    ['arrow', 'arrow-catch'].map((id) => s('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerUnits: 'userSpaceOnUse', markerWidth: 9, markerHeight: 9, orient: 'auto-start-reverse' },
      s('path', { d: 'M0,0 L10,5 L0,10 z', fill: id === 'arrow' ? '#5f6b7a' : '#c76a00' })))));
  const index = { nodes: new Map(), edges: [], size: [W, H] };
  svg.append(drawGraph(lay, G.M, G.M, index, onSelect));
  index.svg = svg;
  return index;
}

function drawGraph(lay, ox, oy, index, onSelect) {
  const root = s('g', { transform: `translate(${ox},${oy})` });
  const eg = s('g', { class: 'edges' }), ng = s('g', { class: 'nodes' }), lg = s('g', { class: 'labels' });
  root.append(eg, ng, lg);
  const placed = [];
  for (const e of lay.edges) {
    const path = s('path', { class: `edge ${e.kind}`, d: edgePath(e), 'marker-end': `url(#${e.kind === 'catch' ? 'arrow-catch' : 'arrow'})` });
    if (e.title || e.label) path.append(s('title', {}, e.title || e.label));
    eg.append(path);
    index.edges.push({ from: e.from, to: e.to, kind: e.kind, el: path });
    if (e.label) {
      const text = ellipsize(e.label, 28), w = text.length * 5.9 + 10;
      const boxAt = (pt) => [pt[0] - w / 2, pt[1] - 8.5, pt[0] + w / 2, pt[1] + 8.5];
      const free = (b) => !placed.some((o) => b[0] < o[2] && o[0] < b[2] && b[1] < o[3] && o[1] < b[3]);
      const p = [0.5, 0.3, 0.75, 0.15, 0.88].map((t) => labelPoint(e, t)).find((pt) => free(boxAt(pt))) || labelPoint(e, 0.6);
      placed.push(boxAt(p));
      lg.append(s('g', { class: 'elabel', transform: `translate(${p[0]},${p[1]})` },
        s('title', {}, e.label),
        s('rect', { x: -w / 2, y: -8, width: w, height: 16, rx: 8 }),
        s('text', { 'text-anchor': 'middle', y: 4 }, text)));
    }
  }
  for (const v of lay.nodes) {
    const n = v.node, x = v.x - v.w / 2, y = v.top;
    if (n.pseudo) {
      ng.append(s('g', { class: 'pseudo', transform: `translate(${x},${y})` },
        s('rect', { width: v.w, height: v.h, rx: v.h / 2 }),
        s('text', { x: v.w / 2, y: v.h / 2 + 4, 'text-anchor': 'middle' }, n.pseudo)));
      continue;
    }
    const st = n.st || {};
    const g = s('g', { class: n.inner ? 'node compound' : 'node', 'data-state': n.name, 'data-type': st.Type || '', transform: `translate(${x},${y})`, tabindex: 0 },
      s('title', {}, `${n.name} (${st.Type || '?'})${st.Comment ? '\n' + st.Comment : ''}`),
      s('rect', { class: 'box', width: v.w, height: v.h, rx: n.inner ? 10 : 6 }),
      s('text', { class: 'name', x: 10, y: 17, 'data-max': v.w - 20 }, n.name),
      s('text', { class: 'type', x: 10, y: 32, 'data-max': v.w - 20 }, typeLabel(st)));
    const pick = (ev) => { ev.stopPropagation(); onSelect?.(n.name); };
    g.addEventListener('click', pick);
    g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') pick(ev); });
    ng.append(g);
    index.nodes.set(n.name, { el: g, w: v.w });
    for (const inner of n.inner || []) {
      ng.append(s('text', { class: 'sublabel', x: x + inner.ox + 2, y: y + G.HEAD + 4 }, inner.label));
      ng.append(drawGraph(inner, x + inner.ox, y + G.HEAD + 12, index, onSelect));
    }
  }
  return root;
}

// Each point carries the direction the edge travels there; segments are cubic curves along those tangents.
function edgePoints(e) {
  const c = e.chain, pts = [[c[0].x, c[0].bot, 0, 1]];
  for (const d of c.slice(1, -1)) pts.push([d.x, d.band[0], 0, 1], [d.x, d.band[1], 0, 1]);
  return pts.concat([[c[c.length - 1].x, c[c.length - 1].top, 0, 1]]);
}
function segment(p, q) {
  const k = Math.max(24, Math.hypot(q[0] - p[0], q[1] - p[1]) / 2.2);
  return [p[0] + p[2] * k, p[1] + p[3] * k, q[0] - q[2] * k, q[1] - q[3] * k];
}
function edgePath(e) {
  const f = (v) => v.toFixed(1);
  if (e.self) {
    const v = e.selfV, x = v.x + v.w / 2;
    return `M${f(x)},${f(v.cy - 8)} C${f(x + 44)},${f(v.cy - 34)} ${f(x + 44)},${f(v.cy + 34)} ${f(x)},${f(v.cy + 8)}`;
  }
  if (e.back) {
    const [from, to] = e.chain, fx = from.x + from.w / 4, tx = to.x + to.w / 4, x = e.lane, r = 8;
    const y1 = from.band[1] + G.GY * 0.3, y2 = to.band[0] - G.GY * 0.3;
    return `M${f(fx)},${f(from.bot)} L${f(fx)},${f(y1 - r)} Q${f(fx)},${f(y1)} ${f(fx + r)},${f(y1)} L${f(x - r)},${f(y1)}` +
      ` Q${f(x)},${f(y1)} ${f(x)},${f(y1 - r)} L${f(x)},${f(y2 + r)} Q${f(x)},${f(y2)} ${f(x - r)},${f(y2)}` +
      ` L${f(tx + r)},${f(y2)} Q${f(tx)},${f(y2)} ${f(tx)},${f(y2 + r)} L${f(tx)},${f(to.top)}`;
  }
  const pts = edgePoints(e);
  let d = `M${f(pts[0][0])},${f(pts[0][1])}`;
  for (let i = 1; i < pts.length; i++) {
    const p = pts[i - 1], q = pts[i];
    if (p[0] === q[0] && p[2] === 0 && q[2] === 0) { d += ` L${f(q[0])},${f(q[1])}`; continue; }
    const [ax, ay, bx, by] = segment(p, q);
    d += ` C${f(ax)},${f(ay)} ${f(bx)},${f(by)} ${f(q[0])},${f(q[1])}`;
  }
  return d;
}
// A label sits at fraction t of the edge's first segment (first free spot of a few).
function labelPoint(e, t) {
  if (e.self) return [e.selfV.x + e.selfV.w / 2 + 34, e.selfV.cy];
  if (e.back) return [e.lane, e.chain[0].cy - t * (e.chain[0].cy - e.chain[1].cy)];
  const [p, q] = edgePoints(e), [c1x, c1y, c2x, c2y] = segment(p, q), u = 1 - t;
  return [u ** 3 * p[0] + 3 * u * u * t * c1x + 3 * u * t * t * c2x + t ** 3 * q[0],
    u ** 3 * p[1] + 3 * u * u * t * c1y + 3 * u * t * t * c2y + t ** 3 * q[1]];
}

// ---------------------------------------------------------------- history analysis

const detailsOf = (ev) => {
  const k = Object.keys(ev).find((x) => x.endsWith('EventDetails'));
  return k ? ev[k] : null;
};
const TASK_START = /^(Task|LambdaFunction|Activity)Scheduled$/;
const TASK_FAIL = /^(Task|LambdaFunction|Activity)(Failed|TimedOut|ScheduleFailed|StartFailed|SubmitFailed)$|^(ParallelState|MapState)(Failed|Aborted)$/;
const TASK_OK = /^(Task|LambdaFunction|Activity)Succeeded$/;

// What happened to each state. Events are attributed by following previousEventId, which keeps the
// threads of Parallel branches and Map iterations apart: each event belongs to the state entry its
// chain leads back to.
function analyse(events, execStatus) {
  const byId = new Map(), owner = new Map(), entryOf = new Map(), info = new Map(), taken = new Set();
  const get = (n) => {
    if (!info.has(n)) info.set(n, { name: n, entries: [], retries: 0, failures: 0, iterations: 0, iterationsFailed: 0 });
    return info.get(n);
  };
  const t0 = events[0]?.timestamp;
  for (const ev of events) {
    byId.set(ev.id, ev);
    const d = detailsOf(ev) || {};
    const type = String(ev.type || '');
    const prev = byId.get(ev.previousEventId);
    let name = null, entry = null;
    if (type.endsWith('StateEntered')) {
      name = d.name;
      entry = { input: d.input, enteredAt: ev.timestamp, attempts: [], failed: false, isFail: type === 'FailStateEntered' };
      get(name).entries.push(entry);
      const from = prev && String(prev.type).endsWith('StateExited') ? owner.get(prev.id)
        : prev && /^(ExecutionStarted|ParallelStateStarted|MapIterationStarted)$/.test(prev.type) ? START : null;
      // Keyed by how the source left: through a Catch or normally (Next, Choice, Start).
      if (from) taken.add(`${from}\u0000${name}\u0000${from !== START && entryOf.get(prev.id)?.caught ? 'catch' : 'ok'}`);
      if (from && from !== START && entryOf.get(prev.id)) entryOf.get(prev.id).next = name;
      if (entry.isFail) taken.add(`${name}\u0000${END}\u0000ok`);
    } else if (!type.startsWith('Execution')) {
      name = d.name && info.has(d.name) ? d.name : owner.get(ev.previousEventId) ?? null;
      entry = name ? entryOf.get(ev.previousEventId) ?? info.get(name)?.entries.slice(-1)[0] ?? null : null;
      if (name && entry && !info.get(name).entries.includes(entry)) entry = info.get(name).entries.slice(-1)[0] ?? null;
    }
    owner.set(ev.id, name);
    entryOf.set(ev.id, entry);
    if (!name || !entry) continue;
    const st = get(name);
    if (type.endsWith('StateExited')) {
      entry.output = d.output; entry.exitedAt = ev.timestamp;
      entry.caught = entry.failed;
      taken.add(`${name}\u0000${END}\u0000ok`); // only drawn where the state really ends its (sub-)graph
    } else if (TASK_START.test(type)) {
      if (entry.attempts.length) st.retries++;
      entry.attempts.push({ details: d });
      entry.failed = false;
    } else if (TASK_FAIL.test(type)) {
      if (!entry.attempts.length) entry.attempts.push({});
      Object.assign(entry.attempts[entry.attempts.length - 1], { error: d.error ?? type, cause: d.cause });
      entry.failed = true; st.failures++;
    } else if (TASK_OK.test(type)) {
      if (entry.attempts.length) Object.assign(entry.attempts[entry.attempts.length - 1], { output: d.output, ok: true });
      entry.failed = false;
    } else if (type === 'MapIterationStarted') st.iterations++;
    else if (type === 'MapIterationFailed') st.iterationsFailed++;
  }
  // A state's colour is its worst entry's: in progress, then failed, then caught, then succeeded.
  const rank = ['succeeded', 'caught', 'failed', 'running'];
  for (const st of info.values()) {
    st.status = st.entries.map((en) => {
      if (en.exitedAt != null) return en.caught ? 'caught' : 'succeeded';
      return !en.isFail && execStatus === 'RUNNING' ? 'running' : 'failed';
    }).reduce((a, b) => (rank.indexOf(b) > rank.indexOf(a) ? b : a), 'succeeded');
  }
  return { info, owner, taken, t0 };
}

// ---------------------------------------------------------------- router

let routeGen = 0;

function route() {
  const gen = ++routeGen;
  const ctx = {
    alive: () => gen === routeGen,
    every(ms, fn) {
      let busy = false;
      const t = setInterval(async () => {
        if (!ctx.alive()) { clearInterval(t); return; }
        if (document.hidden || busy) return;
        busy = true;
        try { await fn(); } catch (e) { console.warn(e); } finally { busy = false; }
      }, ms);
    },
  };
  const [path, qs] = (location.hash.slice(1) || '/').split('?');
  document.title = 'stepcart console';
  const params = new URLSearchParams(qs || '');
  const main = $('#app');
  put(main);
  document.querySelectorAll('[data-nav]').forEach((a) => a.classList.toggle('active',
    a.dataset.nav === (path.startsWith('/statemachine') ? 'statemachines' : 'executions')));
  let m, p;
  if ((m = path.match(/^\/execution\/(.+)$/))) p = viewExecution(main, ctx, decodeURIComponent(m[1]));
  else if ((m = path.match(/^\/statemachine\/(.+)$/))) p = viewStateMachine(main, ctx, decodeURIComponent(m[1]));
  else if (path === '/statemachines') p = viewStateMachines(main, ctx);
  else p = viewExecutions(main, ctx, params);
  Promise.resolve(p).catch((e) => { if (ctx.alive()) main.prepend(errorBanner(e)); });
}

const errorBanner = (e) => h('div', { class: 'error-banner', role: 'alert' }, String(e?.message || e));
const execLink = (arn, text) => h('a', { href: `#/execution/${encodeURIComponent(arn)}` }, text ?? lastSegment(arn));
const machineLink = (arn, text) => h('a', { href: `#/statemachine/${encodeURIComponent(arn)}` }, text ?? lastSegment(arn));

// ---------------------------------------------------------------- executions list

function viewExecutions(main, ctx, params) {
  main.append(h('div', { class: 'card' }, h('h2', {}, 'Executions'),
    executionsPanel(ctx, { status: params.get('status') || '', q: params.get('q') || '', sm: params.get('sm') || '', syncHash: true })));
}

function executionsPanel(ctx, opts) {
  const st = { status: opts.status || '', q: opts.q || '', sm: opts.fixedMachine || opts.sm || '', rows: [], next: null, seq: 0 };
  const tbody = h('tbody');
  const count = h('span', { class: 'muted small' });
  const more = h('button', { class: 'btn', type: 'button', hidden: true, onclick: () => load('more') }, 'Load more');
  const errBox = h('div');
  const seg = h('div', { class: 'seg', role: 'group', 'aria-label': 'Status filter', id: 'status-filter' },
    ['', ...STATUSES].map((v) => h('button', { type: 'button', 'data-status': v || 'ALL', onclick: () => { st.status = v; changed(); } }, v ? v.replace('_', ' ') : 'All')));
  let debounce;
  const search = h('input', { type: 'search', id: 'search', placeholder: 'Search by execution name', value: st.q, 'aria-label': 'Search by name',
    oninput: (e) => { clearTimeout(debounce); debounce = setTimeout(() => { st.q = e.target.value.trim(); changed(); }, 250); } });
  const select = h('select', { id: 'machine-filter', 'aria-label': 'State machine', onchange: (e) => { st.sm = e.target.value; changed(); } },
    h('option', { value: '' }, 'All state machines'));
  if (!opts.fixedMachine) {
    api('ListStateMachines', {}).then((r) => {
      for (const m of r.stateMachines || []) select.append(h('option', { value: m.stateMachineArn }, m.name));
      select.value = st.sm;
    }).catch(() => {});
  }
  const table = h('table', { class: 'grid', id: 'executions' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Name'), opts.fixedMachine ? null : h('th', {}, 'State machine'), h('th', {}, 'Status'),
      h('th', {}, 'Started'), h('th', {}, 'Ended'), h('th', { class: 'num' }, 'Duration'))),
    tbody);
  const paintSeg = () => seg.querySelectorAll('button').forEach((b) => {
    const on = (b.dataset.status === 'ALL' ? '' : b.dataset.status) === st.status;
    b.classList.toggle('active', on); b.setAttribute('aria-pressed', String(on));
  });

  function changed() {
    paintSeg();
    if (opts.syncHash) {
      const p = new URLSearchParams();
      if (st.status) p.set('status', st.status);
      if (st.q) p.set('q', st.q);
      if (st.sm) p.set('sm', st.sm);
      history.replaceState(null, '', `#/${p.toString() ? '?' + p : ''}`);
    }
    load('reset');
  }

  async function load(mode) {
    const seq = mode === 'refresh' ? st.seq : ++st.seq;
    const input = { maxResults: PAGE };
    if (st.status) input.statusFilter = st.status;
    if (st.sm) input.stateMachineArn = st.sm;
    if (st.q) input.nameContains = st.q;
    if (mode === 'more') input.nextToken = st.next;
    try {
      const r = await api('ListExecutions', input);
      if (seq !== st.seq || !ctx.alive()) return;
      const page = r.executions || [];
      if (mode === 'more') { st.rows = st.rows.concat(page); st.next = r.nextToken || null; }
      else if (mode === 'refresh' && st.rows.length > PAGE) {
        const seen = new Set(page.map((e) => e.executionArn));
        st.rows = page.concat(st.rows.slice(PAGE).filter((e) => !seen.has(e.executionArn)));
      } else { st.rows = page; st.next = r.nextToken || null; }
      put(errBox);
      paint();
    } catch (e) {
      if (ctx.alive()) put(errBox, errorBanner(e));
    }
  }

  function paint() {
    put(tbody, ...st.rows.map((e) => {
      const tr = h('tr', { class: 'click', 'data-name': e.name, 'data-status': e.status },
        h('td', {}, execLink(e.executionArn, e.name)),
        opts.fixedMachine ? null : h('td', {}, machineLink(e.stateMachineArn)),
        h('td', {}, badge(e.status)),
        h('td', { class: 'nowrap' }, fmtDate(e.startDate)),
        h('td', { class: 'nowrap' }, e.stopDate ? fmtDate(e.stopDate) : '—'),
        h('td', { class: 'num' }, fmtDur(execDuration(e))));
      tr.addEventListener('click', (ev) => { if (!ev.target.closest('a')) location.hash = `#/execution/${encodeURIComponent(e.executionArn)}`; });
      return tr;
    }));
    if (!st.rows.length) tbody.append(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No executions match.')));
    more.hidden = !st.next;
    count.textContent = `${st.rows.length}${st.next ? '+' : ''} execution${st.rows.length === 1 ? '' : 's'} · refreshes every 2 s`;
  }

  paintSeg();
  load('reset');
  ctx.every(2000, () => load('refresh'));
  return h('div', { class: 'executions-panel' },
    h('div', { class: 'toolbar' }, seg, search, opts.fixedMachine ? null : select, count), errBox, table,
    h('div', { class: 'toolbar', style: 'margin-top:10px' }, more));
}

// ---------------------------------------------------------------- state machines

async function viewStateMachines(main, ctx) {
  const r = await api('ListStateMachines', {});
  if (!ctx.alive()) return;
  const rows = (r.stateMachines || []).map((m) => h('tr', { 'data-name': m.name },
    h('td', {}, machineLink(m.stateMachineArn, m.name)), h('td', {}, m.type || 'STANDARD'),
    h('td', { class: 'nowrap' }, fmtDate(m.creationDate)), h('td', { class: 'mono small muted' }, m.stateMachineArn)));
  main.append(h('div', { class: 'card' }, h('h2', {}, 'State machines'),
    h('table', { class: 'grid', id: 'statemachines' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Type'), h('th', {}, 'Created'), h('th', {}, 'ARN'))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'No state machines.'))))));
}

async function viewStateMachine(main, ctx, arn) {
  const sm = await api('DescribeStateMachine', { stateMachineArn: arn });
  if (!ctx.alive()) return;
  let def = null, parseErr = null;
  try { def = JSON.parse(sm.definition); } catch (e) { parseErr = e; }
  document.title = `${sm.name} · stepcart console`;
  const side = h('div', { class: 'card side', id: 'definition' });
  const showDef = (name) => {
    const one = name && def?.States ? findState(def, name) : null;
    put(side, h('h2', {}, one ? `State ${name}` : 'Definition',
      one ? h('button', { class: 'btn small', type: 'button', onclick: () => { graph?.select(null); showDef(null); } }, 'Full definition') : null),
    jsonView(one ?? parseMaybe(sm.definition), { style: 'max-height:none' }));
  };
  const graph = def ? graphPanel(def, (n) => { graph.select(n); showDef(n); }) : null;
  showDef(null);
  main.append(h('div', { class: 'fill-screen' },
    h('div', { class: 'crumbs' }, h('a', { href: '#/statemachines' }, 'State machines'), ' / ', sm.name, h('span', { class: 'mono arn' }, sm.stateMachineArn)),
    h('div', { class: 'card' }, h('div', { class: 'exec-head' },
      h('div', { class: 'title' }, h('h1', {}, sm.name), badge(sm.status || 'ACTIVE')),
      kv('Type', sm.type || 'STANDARD'), kv('Created', fmtDate(sm.creationDate)), kv('States', String(def ? Object.keys(def.States || {}).length : '?')),
      sm.roleArn ? kv('Role', h('span', { class: 'mono small' }, sm.roleArn)) : null)),
    h('div', { class: 'row split' }, graph ? graph.el : h('div', { class: 'card grow' }, errorBanner(`The definition is not valid JSON: ${parseErr}`)), side)),
    h('div', { class: 'card' }, h('h2', {}, 'Executions'), executionsPanel(ctx, { fixedMachine: arn })));
}

function findState(def, name) {
  for (const [n, st] of Object.entries(def?.States || {})) {
    if (n === name) return st;
    for (const sub of subMachines(st)) { const r = findState(sub.def, name); if (r) return r; }
  }
  return null;
}

const kv = (k, v) => h('div', { class: 'kv' }, h('span', { class: 'k' }, k), h('span', { class: 'v' }, v));

// Graph card with zoom controls; select(name) highlights a node, paint(analysis) colours nodes.
function graphPanel(def, onSelect, legend) {
  const idx = renderGraph(def, onSelect);
  const scroller = h('div', { class: 'graph-scroll' }, idx.svg);
  let scale = 1;
  const zoom = (z) => {
    scale = Math.min(2, Math.max(0.3, z));
    idx.svg.setAttribute('width', idx.size[0] * scale);
    idx.svg.setAttribute('height', idx.size[1] * scale);
  };
  const fit = () => zoom(Math.min(1, (scroller.clientWidth - 8) / idx.size[0], (scroller.clientHeight - 8) / idx.size[1]));
  const tools = h('div', { class: 'graph-tools' },
    h('button', { class: 'btn small', type: 'button', title: 'Zoom out', onclick: () => zoom(scale / 1.2) }, '−'),
    h('button', { class: 'btn small', type: 'button', title: 'Zoom in', onclick: () => zoom(scale * 1.2) }, '+'),
    h('button', { class: 'btn small', type: 'button', onclick: fit }, 'Fit'),
    h('button', { class: 'btn small', type: 'button', onclick: () => zoom(1) }, '100%'),
    legend ? h('div', { class: 'legend' }, [['succeeded', 'Succeeded'], ['caught', 'Caught error'], ['failed', 'Failed'], ['running', 'In progress'], ['notrun', 'Not entered']]
      .map(([k, t]) => h('span', {}, h('i', { class: `lg-${k}`, style: legendStyle(k) }), t))) : null);
  const el = h('div', { class: 'card graph-wrap', id: 'graph' }, tools, scroller);
  // Once in the page: shorten texts wider than their box (measured), and start readable: fit the width
  // down to 70%, then scroll vertically (see focus).
  requestAnimationFrame(() => {
    for (const el of idx.svg.querySelectorAll('text[data-max]')) {
      const max = Number(el.getAttribute('data-max')), full = el.textContent;
      for (let n = full.length - 1; n > 3 && el.getComputedTextLength() > max; n--) el.textContent = `${full.slice(0, n)}…`;
    }
    zoom(Math.max(0.7, Math.min(1, (scroller.clientWidth - 8) / idx.size[0])));
  });
  return {
    el, idx,
    focus(name) {
      const node = idx.nodes.get(name);
      if (!node) return;
      requestAnimationFrame(() => {
        const r = node.el.getBoundingClientRect(), sr = scroller.getBoundingClientRect();
        scroller.scrollTop += r.top - sr.top - sr.height / 3;
        scroller.scrollLeft += r.left - sr.left - (sr.width - r.width) / 2;
      });
    },
    select(name) { for (const [n, v] of idx.nodes) v.el.classList.toggle('selected', n === name); },
    paint(an) {
      for (const [n, v] of idx.nodes) {
        const st = an.info.get(n);
        v.el.setAttribute('data-status', st?.status || 'notrun');
        v.el.querySelector('.retry')?.remove();
        if (st?.retries) {
          const label = `↻${st.retries}`, w = 12 + label.length * 6.5;
          v.el.append(s('g', { class: 'retry', transform: `translate(${v.w - w - 6},-8)` },
            s('title', {}, `${st.retries} retr${st.retries === 1 ? 'y' : 'ies'}`), s('rect', { width: w, height: 16, rx: 8 }),
            s('text', { x: w / 2, y: 12, 'text-anchor': 'middle' }, label)));
        }
      }
      for (const e of idx.edges) {
        const taken = an.taken.has(`${e.from}\u0000${e.to}\u0000${e.kind === 'catch' ? 'catch' : 'ok'}`);
        e.el.classList.toggle('taken', taken);
        if (taken) e.el.parentNode.append(e.el); // on top of the edges it shares a lane with
      }
    },
  };
}
function legendStyle(k) {
  const c = { succeeded: ['--ok-bg', '--ok'], caught: ['--warn-bg', '--warn'], failed: ['--fail-bg', '--fail'], running: ['--run-bg', '--run'], notrun: ['--idle-bg', '--idle'] }[k];
  return `background:var(${c[0]});border-color:var(${c[1]})`;
}

// ---------------------------------------------------------------- execution

async function viewExecution(main, ctx, arn) {
  const [ex0, sm] = await Promise.all([
    api('DescribeExecution', { executionArn: arn }),
    api('DescribeStateMachineForExecution', { executionArn: arn }).catch((e) => ({ error: e })),
  ]);
  let ex = ex0, events = await fetchHistory(arn);
  if (!ctx.alive()) return;
  let def = null, defErr = sm.error;
  if (!defErr) { try { def = JSON.parse(sm.definition); } catch (e) { defErr = e; } }
  let an = analyse(events, ex.status), selected = null;
  document.title = `${ex.name} · stepcart console`;

  const head = h('div', { class: 'card', id: 'exec-header' });
  const side = h('div', { class: 'card side', id: 'state-panel' });
  const ioIn = h('div', { class: 'card io', id: 'exec-input' });
  const ioOut = h('div', { class: 'card io', id: 'exec-output' });
  const histBody = h('tbody');
  const histCount = h('span', { class: 'muted small' });
  const graph = def ? graphPanel(def, (n) => select(n), true) : null;
  const open = new Set();

  function select(name) {
    selected = name;
    graph?.select(name);
    paintState();
    paintHistory();
  }

  function paintHead() {
    const failed = ex.error != null || ex.cause != null;
    put(head, h('div', { class: 'exec-head' },
      h('div', { class: 'title' }, h('h1', { id: 'exec-name' }, ex.name), h('span', { id: 'exec-status' }, badge(ex.status)),
        ex.status === 'RUNNING' ? h('span', { class: 'live', title: 'Polling the history every second' }, 'live') : null),
      kv('State machine', machineLink(ex.stateMachineArn, sm.name || lastSegment(ex.stateMachineArn))),
      kv('Started', fmtDate(ex.startDate)), kv('Ended', ex.stopDate ? fmtDate(ex.stopDate) : '—'),
      kv('Duration', fmtDur(execDuration(ex))),
      kv('States entered', String([...an.info.values()].reduce((n, st) => n + st.entries.length, 0))),
      kv('Retries', String([...an.info.values()].reduce((n, st) => n + st.retries, 0))),
      kv('Events', String(events.length))),
    failed ? h('div', { class: 'failure', id: 'exec-error' }, h('b', {}, ex.error ?? 'Error'), ex.cause ? ` — ${ex.cause}` : '') : null);
  }

  function paintIO() {
    put(ioIn, h('h2', {}, 'Execution input'), jsonView(ex.input ?? ''));
    put(ioOut, h('h2', {}, 'Execution output'),
      ex.output != null ? jsonView(ex.output)
        : ex.error != null ? jsonView({ error: ex.error, cause: parseMaybe(ex.cause) })
          : h('div', { class: 'pane-empty' }, ex.status === 'RUNNING' ? 'Not finished yet.' : 'No output.'));
  }

  function paintState() {
    if (!selected) {
      put(side, h('h2', {}, 'State details'),
        h('p', { class: 'muted' }, 'Select a state in the graph (or a row of the event history) to see its input, output, attempts and errors.'),
        timeline(),
        an.info.size ? h('ul', { class: 'attempts' }, [...an.info.values()].filter((st) => st.failures || st.retries).map((st) =>
          h('li', { class: st.status === 'caught' ? 'caught' : st.status === 'failed' ? 'fail' : '' },
            h('a', { href: '#', onclick: (e) => { e.preventDefault(); select(st.name); } }, st.name), ' ', badge(st.status),
            ` ${st.failures} error${st.failures === 1 ? '' : 's'}, ${st.retries} retr${st.retries === 1 ? 'y' : 'ies'}`))) : null);
      return;
    }
    const st = an.info.get(selected), defn = findState(def, selected) || {};
    const status = st?.status || 'notrun';
    const entry = st?.entries[st.entries.length - 1];
    const attempts = entry?.attempts || [];
    const nextState = entry?.caught ? entry.next : null;
    put(side,
      h('h2', {}, selected, h('span', { id: 'state-status' }, badge(status))),
      h('div', { class: 'exec-head' }, kv('Type', typeLabel(defn)),
        entry ? kv('Entered', `+${fmtDur((entry.enteredAt - an.t0) * 1000)}`) : null,
        entry?.exitedAt != null ? kv('Duration', fmtDur((entry.exitedAt - entry.enteredAt) * 1000)) : null,
        st?.entries.length > 1 ? kv('Times entered', String(st.entries.length)) : null,
        attempts.length ? kv('Attempts', String(attempts.length)) : null,
        st?.iterations ? kv('Iterations', `${st.iterations}${st.iterationsFailed ? ` (${st.iterationsFailed} failed)` : ''}`) : null),
      !st ? h('p', { class: 'muted' }, 'This state was not entered.') : null,
      attempts.some((a) => a.error) ? [h('h3', {}, 'Attempts and errors'), h('ul', { class: 'attempts', id: 'state-errors' }, attempts.map((a, i) => {
        const last = i === attempts.length - 1;
        const cause = parseMaybe(a.cause);
        const msg = cause && typeof cause === 'object' ? cause.errorMessage ?? JSON.stringify(cause) : cause;
        return h('li', { class: a.error ? (last && entry.caught ? 'caught' : 'fail') : 'ok' },
          h('b', {}, `Attempt ${i + 1}: `), a.error ? `${a.error}` : 'succeeded', msg ? ` — ${msg}` : '',
          a.error && !last ? h('div', { class: 'small muted' }, 'retried') : null,
          a.error && last && entry.caught ? h('div', { class: 'small' }, 'Caught', nextState ? ` → continued at ${nextState}` : '') : null);
      }))] : null,
      h('h3', {}, 'Input'), h('div', { id: 'state-input' }, entry ? jsonView(entry.input ?? '') : h('div', { class: 'pane-empty' }, '—')),
      h('h3', {}, 'Output'), h('div', { id: 'state-output' }, entry?.output != null ? jsonView(entry.output)
        : h('div', { class: 'pane-empty' }, status === 'running' ? 'Still running.' : entry ? 'No output (the state did not exit).' : '—')),
      attempts.length ? h('details', {}, h('summary', {}, 'Task call (resource, parameters, result)'),
        attempts.map((a, i) => h('div', {}, h('h3', {}, `Attempt ${i + 1}`),
          jsonView({ resource: a.details?.resource, parameters: parseMaybe(a.details?.parameters ?? a.details?.input), result: parseMaybe(a.output) })))) : null,
      h('details', {}, h('summary', {}, 'State definition'), jsonView(defn)));
  }

  // Every state entry on one time axis, in the order entered: where the time went.
  function timeline() {
    const entries = [...an.info.values()].flatMap((st) => st.entries.map((en) => ({ st, en }))).sort((a, b) => a.en.enteredAt - b.en.enteredAt);
    if (!entries.length) return null;
    const end = ex.stopDate ?? Math.max(Date.now() / 1000, ...entries.map((x) => x.en.exitedAt ?? x.en.enteredAt));
    const total = Math.max(end - an.t0, 1e-3);
    return [h('h3', {}, 'Timeline'), h('div', { class: 'timeline', id: 'timeline' }, entries.slice(0, 300).map(({ st, en }) => {
      const stop = en.exitedAt ?? end, left = ((en.enteredAt - an.t0) / total) * 100, width = Math.max(0.6, ((stop - en.enteredAt) / total) * 100);
      return h('div', { class: 'tl-row', onclick: () => select(st.name), title: `${st.name}: ${fmtDur((stop - en.enteredAt) * 1000)}` },
        h('span', { class: 'tl-name' }, st.name),
        h('span', { class: 'tl-track' }, h('span', { class: `tl-bar st-${st.status}`, style: `left:${left.toFixed(2)}%;width:${Math.min(width, 100 - left).toFixed(2)}%` })),
        h('span', { class: 'tl-dur' }, fmtDur((stop - en.enteredAt) * 1000)));
    }))];
  }

  function paintHistory() {
    histCount.textContent = `${events.length} events`;
    const rows = [];
    for (const ev of events) {
      const type = String(ev.type), stName = an.owner.get(ev.id);
      const cls = /Failed|TimedOut|Aborted/.test(type) ? 'ev-fail' : /Succeeded$/.test(type) ? 'ev-ok' : /State(Entered|Exited)$/.test(type) ? 'ev-state' : '';
      const tr = h('tr', { class: `click ${cls}${stName && stName === selected ? ' sel' : ''}`, 'data-type': type, 'data-id': ev.id },
        h('td', { class: 'num' }, ev.id), h('td', { class: 'type' }, open.has(ev.id) ? '▾ ' : '▸ ', type),
        h('td', {}, stName || ''), h('td', { class: 'num nowrap' }, `+${fmtDur((ev.timestamp - an.t0) * 1000)}`),
        h('td', { class: 'nowrap muted' }, fmtDate(ev.timestamp)));
      tr.addEventListener('click', () => {
        if (open.has(ev.id)) open.delete(ev.id); else open.add(ev.id);
        if (stName && stName !== selected) select(stName); else paintHistory();
      });
      rows.push(tr);
      if (open.has(ev.id)) {
        const d = { ...(detailsOf(ev) || {}) };
        for (const k of ['input', 'output', 'parameters', 'cause']) if (k in d) d[k] = parseMaybe(d[k]);
        rows.push(h('tr', { class: 'detail' }, h('td', {}), h('td', { colspan: 4 },
          stName ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); select(stName); } }, `Show state ${stName}`) : null,
          jsonView({ ...ev, [Object.keys(ev).find((k) => k.endsWith('EventDetails')) || 'details']: d }))));
      }
    }
    put(histBody, ...rows);
  }

  main.append(h('div', { class: 'fill-screen' },
    h('div', { class: 'crumbs' }, h('a', { href: '#/' }, 'Executions'), ' / ', ex.name, h('span', { class: 'mono arn' }, ex.executionArn)),
    head,
    h('div', { class: 'row split' }, graph ? graph.el : h('div', { class: 'card grow' }, errorBanner(`Cannot draw the state machine: ${defErr?.message || defErr}`)), side)),
    h('div', { class: 'row' }, ioIn, ioOut),
    h('div', { class: 'card' }, h('h2', {}, 'Event history ', histCount),
      h('table', { class: 'grid', id: 'history' },
        h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'ID'), h('th', {}, 'Type'), h('th', {}, 'State'), h('th', { class: 'num' }, 'Elapsed'), h('th', {}, 'Timestamp'))),
        histBody)));
  const paintAll = () => { paintHead(); paintIO(); graph?.paint(an); paintState(); paintHistory(); };
  paintAll();
  const hot = [...an.info.values()].find((st) => ['failed', 'caught', 'running'].includes(st.status));
  if (hot) graph?.focus(hot.name);

  // Live updates while the execution runs: poll once a second, repaint only what changed.
  const poll = async () => {
    if (!ctx.alive() || ex.status !== 'RUNNING') return;
    if (!document.hidden) {
      try {
        const [nex, nevents] = await Promise.all([api('DescribeExecution', { executionArn: arn }), fetchHistory(arn)]);
        if (!ctx.alive()) return;
        const changed = nevents.length !== events.length || nex.status !== ex.status;
        ex = nex; events = nevents;
        if (changed) { an = analyse(events, ex.status); paintAll(); } else paintHead();
      } catch (e) { console.warn(e); }
    }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 1000);
}

// ---------------------------------------------------------------- boot

$('#apikey-btn').addEventListener('click', async () => { if (await askApiKey('Set the key sent as x-api-key.')) route(); });
window.addEventListener('hashchange', route);
route();
