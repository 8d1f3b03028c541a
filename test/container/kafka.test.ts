/**
 * Kafka members in containers (issue 28): two containers of the image, on the host network with
 * read-only roots, join one consumer group on the test broker (test/kafka/mockbroker), split the
 * source topic's partitions and run to its end (`--stop-at-end`, exit 0); the rows they write
 * together equal a file run's (`runJob`) over the same events, as test/kafka/*.test.ts compare.
 */
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  brokerWithEventsForFile,
  comparisonLines,
  fileRun,
  folderLines,
  kafkaArgs,
  rowDifferences,
  runnerSummary,
} from '../kafka/broker.js';
import { tempDir } from '../support.js';
import {
  buildTestImage,
  podman,
  podmanAsync,
  removeContainers,
  skipContainers,
  type TestImage,
  uniqueName,
  until,
} from './support.js';

const skip = skipContainers('container Kafka member tests');
const MOUNT = '/mnt/events';
const DATA = '/var/lib/featurestream';

describe.skipIf(skip)('Kafka members in containers', () => {
  const lines = comparisonLines(40_000, 23);
  const broker = brokerWithEventsForFile(1, 'events', 4, lines);
  let img: TestImage;
  let dir: string;
  let reference: Awaited<ReturnType<typeof fileRun>>;
  const containers: string[] = [];

  beforeAll(async () => {
    dir = tempDir('fs-container-kafka-');
    chmodSync(dir, 0o777);
    img = buildTestImage('fs-kafka');
    reference = await fileRun(dir, lines);
  }, 600_000);

  afterAll(() => {
    removeContainers(containers);
    img?.remove();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('two member containers split the partitions and their rows equal the file run', async () => {
    const group = uniqueName('fs-container-group');
    const start = (tag: string) => {
      const name = uniqueName(`fs-member-${tag}`);
      containers.push(name);
      const args = kafkaArgs({ broker, topic: 'events', group, dir: MOUNT, tag }).slice(1);
      const r = podman([
        'run',
        '-d',
        '--read-only',
        '--network',
        'host',
        '--name',
        name,
        '--tmpfs',
        `${DATA}:rw,U`,
        '-v',
        `${dir}:${MOUNT}:rw`,
        img.image,
        ...args,
      ]);
      expect(r.code, r.stderr).toBe(0);
      return name;
    };
    const members = [start('a'), start('b')];
    const assigned = (name: string) =>
      podman(['logs', name])
        .stderr.split('\n')
        .filter((l) => l.includes('"partitions assigned"'))
        .map((l) => (JSON.parse(l) as { source: number[] }).source);
    for (const name of members) {
      await until(`${name} to stop at the end`, 240_000, async () =>
        podman(['inspect', '--format', '{{.State.Status}}', name]).stdout.trim() === 'exited'
          ? true
          : undefined,
      );
    }
    const summaries = members.map((name) => {
      expect(podman(['inspect', '--format', '{{.State.ExitCode}}', name]).stdout.trim(), name).toBe('0');
      return runnerSummary(podman(['logs', name]).stdout);
    });
    expect(summaries.map((s) => s.stoppedBy)).toEqual(['end', 'end']);
    // The group split the partitions: at some point each member held some, but not all.
    for (const name of members)
      expect(
        assigned(name).some((p) => p.length > 0 && p.length < 4),
        name,
      ).toBe(true);
    expect(summaries[0]!.eventsRead + summaries[1]!.eventsRead).toBeGreaterThanOrEqual(lines.length);

    const rows = folderLines(join(dir, 'rows'));
    expect(rows.length).toBeGreaterThan(100);
    expect(rowDifferences(rows, reference.rows)).toEqual([]);
    const stop = await podmanAsync(['rm', '--ignore', ...members]);
    expect(stop.code, stop.stderr).toBe(0);
  }, 600_000);
});
