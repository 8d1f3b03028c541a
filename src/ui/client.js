// The web page's script, bundled for the browser by scripts/build-ui.mjs (esbuild): draws the
// topology from /api/topology (or the JSON embedded in a static export) with the same graph
// pass as `topology show --format svg`, then follows /api/events (SSE) and fills in the live
// figures. Errors are kept in body[data-errors] as well as reported to the console.
import { graphOf, layoutGraph, renderGraphSvg } from './graph.ts';

const errors = [];
const noteError = (msg) => {
  errors.push(String(msg));
  document.body.dataset.errors = String(errors.length);
  document.body.dataset.lastError = String(msg).slice(0, 300);
};
window.addEventListener('error', (e) => noteError(e.message));
window.addEventListener('unhandledrejection', (e) => noteError(e.reason));

const fmt = (n) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));
const bytes = (n) =>
  n === null || n === undefined
    ? '–'
    : n >= 1048576
      ? `${(n / 1048576).toFixed(1)} MB`
      : n >= 1024
        ? `${(n / 1024).toFixed(1)} kB`
        : `${n} B`;
const time = (ms) =>
  ms === null || ms === undefined ? '–' : new Date(ms).toISOString().replace('.000Z', 'Z');
const dur = (ms) => {
  if (ms === null || ms === undefined) return '–';
  const s = Math.abs(ms) / 1000;
  const v =
    s >= 86400
      ? `${(s / 86400).toFixed(1)} d`
      : s >= 3600
        ? `${(s / 3600).toFixed(1)} h`
        : `${s.toFixed(1)} s`;
  return ms < 0 ? `−${v}` : v;
};

function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement('td');
    td.textContent = c;
    tr.appendChild(td);
  }
  return tr;
}

function update(m) {
  document.body.dataset.status = m.status;
  document.body.dataset.eventsRead = String(m.eventsRead);
  document.getElementById('status').textContent = m.status;
  const job = document.getElementById('job');
  const items = [
    ['events read', fmt(m.eventsRead)],
    ['events/s', fmt(m.eventsPerSecond)],
    ['dead letters', fmt(m.deadLetters)],
    ['late records', fmt(m.lateRecords)],
    ['rows written', fmt(m.rowsWritten)],
    ['event-time clock', time(m.clock)],
    ['clock behind wall clock', m.clock === null ? '–' : dur(m.at - m.clock)],
    ['workers', fmt(m.workers)],
  ];
  job.replaceChildren(
    ...items.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      return [dt, dd];
    }),
  );
  for (const el of document.querySelectorAll('text.metrics')) {
    const n = m.nodes[el.dataset.node];
    if (n === undefined) continue;
    const outParts = [`out ${fmt(n.out)} · ${fmt(n.outPerSecond)}/s`];
    if (n.deadLetters !== undefined) outParts.push(`dl ${fmt(n.deadLetters)}`);
    if (n.late !== undefined) outParts.push(`late ${fmt(n.late)}`);
    el.textContent = `in  ${fmt(n.in)} · ${fmt(n.inPerSecond)}/s`;
    const second = el.parentNode.querySelector('text.metrics-out');
    if (second !== null) second.textContent = outParts.join('  ');
    const title =
      el.parentNode.querySelector('title') ??
      el.parentNode.appendChild(document.createElementNS('http://www.w3.org/2000/svg', 'title'));
    title.textContent =
      n.watermark === undefined
        ? `${el.dataset.node}: in ${fmt(n.in)}, out ${fmt(n.out)}`
        : `${el.dataset.node}: watermark ${time(n.watermark)}, ${dur(n.lagWallMs)} behind wall clock, ${dur(n.lagEventMs)} behind the newest event`;
  }
  if (m.kafka !== undefined) updateKafka(m.kafka);
  document
    .querySelector('#shards tbody')
    .replaceChildren(...m.shards.map((s) => row([String(s.shard), String(s.worker), bytes(s.stateBytes)])));
  document.querySelector('#checkpoints tbody').replaceChildren(
    ...m.checkpoints
      .slice(-12)
      .reverse()
      .map((c) =>
        row([
          `${c.id}${c.done ? ' (final)' : ''}`,
          time(c.at).slice(11),
          c.ms.toFixed(1),
          bytes(c.stateBytes),
        ]),
      ),
  );
}

// A Kafka member: which partitions and shards it owns, and its consumer lag per partition.
function updateKafka(k) {
  const list = (xs) => (xs.length === 0 ? 'none' : xs.join(', '));
  document.body.dataset.kafkaPartitions = k.partitions.join(',');
  document.body.dataset.kafkaShards = k.shards.join(',');
  document.body.dataset.kafkaLag = String(k.lag.reduce((a, x) => a + x.lag, 0));
  document.getElementById('kafka-section').hidden = false;
  // The member's shards are listed here; the file run's shard table (worker, state) does not apply.
  document.getElementById('shards').closest('section').hidden = true;
  document.getElementById('kafka').replaceChildren(
    ...[
      ['group', k.group],
      ['member', k.member],
      [`partitions of ${k.topic}`, list(k.partitions)],
      ['shards', list(k.shards)],
      ['rebalances', fmt(k.rebalances)],
    ].flatMap(([key, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = key;
      const dd = document.createElement('dd');
      dd.textContent = v;
      return [dt, dd];
    }),
  );
  document
    .querySelector('#lag tbody')
    .replaceChildren(...k.lag.map((x) => row([x.topic, String(x.partition), fmt(x.lag)])));
}

async function main() {
  const embedded = document.getElementById('topology-data');
  const topology = embedded
    ? JSON.parse(embedded.textContent)
    : await fetch('/api/topology').then((r) => {
        if (!r.ok) throw new Error(`/api/topology answered ${r.status}`);
        return r.json();
      });
  document.getElementById('title').textContent = `featurestream — ${topology.name}`;
  const graph = document.getElementById('graph');
  graph.innerHTML = renderGraphSvg(layoutGraph(graphOf(topology)));
  document.body.dataset.nodes = String(graph.querySelectorAll('g.node').length);
  if (embedded) {
    document.body.dataset.status = 'static';
    document.getElementById('status').textContent = 'static export';
    return;
  }
  const first = await fetch('/api/metrics').then((r) => r.json());
  update(first);
  const events = new EventSource('/api/events');
  events.addEventListener('metrics', (e) => update(JSON.parse(e.data)));
  events.addEventListener('error', () => {
    // The job ended and the server closed: keep the last figures on screen.
    if (events.readyState === EventSource.CLOSED)
      document.getElementById('status').textContent += ' (disconnected)';
  });
}

main().catch(noteError);
