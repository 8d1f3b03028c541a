import { join } from 'node:path';
import { generatePerfLines } from '../../src/generate/perf-stream.js';
import {
  collectorMessage,
  folderLines,
  kafkaArgs,
  produce,
  runnerSummary,
  startBroker,
  startRunner,
} from './broker.js';
import { tempDir } from '../support.js';

const dir = tempDir('fs-kscratch-');
const broker = await startBroker(3, ['events:8']);
console.log('broker', broker.bootstrap, dir);
const lines = [
  ...generatePerfLines({
    events: Number(process.env.N ?? 20000),
    seed: 5,
    models: 5,
    lateFraction: 0,
    badFraction: 0.001,
  }),
]
  .filter((l) => l.kind !== 'oversize')
  .map((l) => l.line);
await produce(
  broker,
  'events',
  lines.map((l, i) => collectorMessage(l, `bad-${i}`)),
);
console.log('produced', lines.length);
const t0 = Date.now();
const args = kafkaArgs({
  broker,
  topic: 'events',
  group: 'g1',
  dir,
  tag: 'a',
  extra: (process.env.EXTRA ?? '').split(' ').filter(Boolean),
});
const r = startRunner(process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/h6prof', ...args] : args);
const timer = setTimeout(
  () => {
    console.log('TIMEOUT\n' + r.stderr().split('\n').slice(-40).join('\n'));
    r.child.kill('SIGKILL');
  },
  Number(process.env.TMO ?? 90000),
);
const res = await r.result;
clearTimeout(timer);
await import('node:fs').then((fs) => fs.writeFileSync('/tmp/h6runner.log', res.stderr));
console.log('exit', res.code, (Date.now() - t0) / 1000, 's');
console.log(res.stdout);
console.log(res.stderr.split('\n').slice(-30).join('\n'));
console.log('rows', folderLines(join(dir, 'rows')).length, 'dl', folderLines(join(dir, 'dl')).length);
await broker.stop();
