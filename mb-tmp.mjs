import { readFileSync } from 'node:fs';
import { francFast } from './dist/src/domains/llm/features/text/franc-fast.js';
const prompts = [];
for (const l of readFileSync('/tmp/cat/heavy.ndjson','utf8').split('\n')) { try { const e = JSON.parse(l); if (typeof e.prompt === 'string') prompts.push(e.prompt); } catch {} }
const c = process.cpuUsage(); for (let k = 0; k < 2; k++) for (const p of prompts) francFast(p); const u = process.cpuUsage(c); console.log(prompts.length*2, ((u.user+u.system)/1000).toFixed(0), 'ms');
