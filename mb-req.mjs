import { readFileSync } from 'node:fs';
const { decodeLine } = await import(`./dist/src/domains/llm/events/decode.js`);
const { requestFeatures } = await import(`./dist/src/domains/llm/features/request.js`);
const lines = readFileSync('/tmp/cat/heavy.ndjson', 'utf8').split('\n');
const reqs = lines.map((l) => decodeLine(l)).filter((r) => r.ok && r.event.type === 'llm_request').map((r) => r.event);
const time = (name, f) => { const c = process.cpuUsage(); f(); const u = process.cpuUsage(c); console.log(name.padEnd(12), ((u.user + u.system) / 1000).toFixed(0), 'ms'); };
for (let k = 0; k < 3; k++) time('reqFeatures', () => { for (const e of reqs) requestFeatures(e.body, e.ts); });
