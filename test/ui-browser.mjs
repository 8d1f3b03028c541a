// Drives headless Chromium (Debian's /usr/bin/chromium) over the DevTools protocol for the UI
// tests: opens a page, samples document.body.dataset until a condition holds, collects console
// errors, uncaught exceptions and failed loads, and takes a screenshot.
//
// Run with `node --experimental-websocket test/ui-browser.mjs '<json job>'` (Node 20's
// WebSocket); prints one JSON line. Job: { url, screenshot?, samples?, intervalMs?,
// until?: 'nodes' | 'status', timeoutMs? }.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const job = JSON.parse(process.argv[2]);
const profile = mkdtempSync(join(tmpdir(), 'fs-chromium-'));
const chrome = spawn(
  process.env.CHROMIUM ?? '/usr/bin/chromium',
  [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-proxy-server',
    '--remote-debugging-port=0',
    `--user-data-dir=${profile}`,
    'about:blank',
  ],
  { stdio: ['ignore', 'ignore', 'pipe'] },
);
const wsUrl = await new Promise((resolve, reject) => {
  let err = '';
  const t = setTimeout(() => reject(new Error(`chromium did not start: ${err.slice(-500)}`)), 30_000);
  chrome.stderr.setEncoding('utf8').on('data', (d) => {
    err += d;
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
    if (m) {
      clearTimeout(t);
      resolve(m[1]);
    }
  });
});

const ws = new WebSocket(wsUrl);
await new Promise((r, j) => {
  ws.onopen = r;
  ws.onerror = j;
});
let nextId = 1;
const pending = new Map();
const errors = [];
ws.onmessage = (ev) => {
  const msg = JSON.parse(ev.data);
  if (msg.id !== undefined) {
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(JSON.stringify(msg.error)));
    else p.resolve(msg.result);
    return;
  }
  if (msg.method === 'Runtime.exceptionThrown') {
    errors.push(
      `exception: ${msg.params.exceptionDetails.exception?.description ?? msg.params.exceptionDetails.text}`,
    );
  } else if (msg.method === 'Runtime.consoleAPICalled' && ['error', 'assert'].includes(msg.params.type)) {
    errors.push(
      `console.${msg.params.type}: ${msg.params.args.map((a) => a.value ?? a.description).join(' ')}`,
    );
  } else if (msg.method === 'Log.entryAdded' && msg.params.entry.level === 'error') {
    errors.push(`log: ${msg.params.entry.text} ${msg.params.entry.url ?? ''}`);
  }
};
const send = (method, params = {}, sessionId) =>
  new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
  });

const out = { samples: [], errors, nodeIds: [] };
try {
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const s = (m, p) => send(m, p, sessionId);
  await s('Runtime.enable');
  await s('Log.enable');
  await s('Page.enable');
  await s('Emulation.setDeviceMetricsOverride', {
    width: 1600,
    height: 1150,
    deviceScaleFactor: 1,
    mobile: false,
  });
  await s('Page.navigate', { url: job.url });
  const dataset = async () =>
    (
      await s('Runtime.evaluate', {
        expression: 'JSON.stringify(document.body ? Object.assign({}, document.body.dataset) : {})',
        returnByValue: true,
      })
    ).result.value;
  const deadline = Date.now() + (job.timeoutMs ?? 30_000);
  const samples = job.samples ?? 1;
  const interval = job.intervalMs ?? 250;
  while (Date.now() < deadline && out.samples.length < samples) {
    const d = JSON.parse((await dataset()) ?? '{}');
    const ready =
      job.until === 'status' ? d.status !== undefined && d.status !== 'loading' : d.nodes !== undefined;
    if (ready) out.samples.push(d);
    await new Promise((r) => setTimeout(r, interval));
  }
  out.nodeIds = JSON.parse(
    (
      await s('Runtime.evaluate', {
        expression: 'JSON.stringify([...document.querySelectorAll("svg g.node")].map((g) => g.dataset.id))',
        returnByValue: true,
      })
    ).result.value,
  );
  out.metricsText = (
    await s('Runtime.evaluate', {
      expression:
        '[...document.querySelectorAll("text.metrics, text.metrics-out")].map((t) => t.textContent).join("|")',
      returnByValue: true,
    })
  ).result.value;
  if (job.screenshot) {
    const shot = await s('Page.captureScreenshot', { format: 'png', captureBeyondViewport: false });
    writeFileSync(job.screenshot, Buffer.from(shot.data, 'base64'));
  }
} catch (err) {
  out.failure = String(err?.stack ?? err);
} finally {
  ws.close();
  chrome.kill('SIGKILL');
  await new Promise((r) => chrome.once('exit', r));
  try {
    // Chromium's helper processes may still be writing into the profile for a moment.
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  } catch {
    // a temporary directory: leave it
  }
}
process.stdout.write(`${JSON.stringify(out)}\n`);
