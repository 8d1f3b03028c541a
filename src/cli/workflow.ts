/**
 * `featurestream workflow …`: `eval` (hit@1, hit@3, MRR of `score` and of a popularity baseline
 * on held-out generated sessions; `--export DIR` writes the training rows) and `import-openapi`
 * (endpoints, templates and descriptions of an OpenAPI 3 document, as JSON).
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { nonNegativeInt, positiveInt } from '../shared/flags.js';

/** Registers `workflow` on the CLI. */
export function registerWorkflowCommand(program: Command): void {
  const wf = program
    .command('workflow')
    .description('API-workflow features (family B): evaluation and API surfaces');
  wf.command('eval')
    .description(
      'hit@1, hit@3 and MRR of the built-in score and of a popularity baseline on held-out generated sessions',
    )
    .addOption(
      new Option('--events <n>', 'generated api_call events')
        .argParser(positiveInt('--events'))
        .default(20_000),
    )
    .addOption(new Option('--seed <n>', 'random seed').argParser(nonNegativeInt('--seed')).default(1))
    .option('--export <dir>', 'write train.csv, and train.tsv + train.tsv.query (LightGBM) to DIR')
    .option('--json', 'print the report as JSON', false)
    .action(async (o) => {
      const { evaluateWorkflow } = await import('../domains/api-workflow/eval.js');
      const r = evaluateWorkflow({
        events: o.events as number,
        seed: o.seed as number,
        ...(o.export === undefined ? {} : { exportDir: o.export as string }),
      });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
      process.stdout.write(
        `held-out queries ${r.testQueries} (train ${r.trainQueries}), ${r.candidates} candidates each\n` +
          `               hit@1     hit@3     MRR\n` +
          `score        ${pct(r.score.hit1).padStart(7)}   ${pct(r.score.hit3).padStart(7)}   ${r.score.mrr.toFixed(3)}\n` +
          `popularity   ${pct(r.popularity.hit1).padStart(7)}   ${pct(r.popularity.hit3).padStart(7)}   ${r.popularity.mrr.toFixed(3)}\n`,
      );
    });
  wf.command('import-openapi')
    .description('List the endpoints (method, template, description) of an OpenAPI 3 JSON document')
    .argument('<spec>', 'OpenAPI 3 JSON file, or "builtin"')
    .action(async (spec: string) => {
      const { resolveSpec } = await import('../domains/api-workflow/openapi.js');
      const s = resolveSpec(spec);
      process.stdout.write(
        `${JSON.stringify({ title: s.title, version: s.version, endpoints: s.endpoints }, null, 1)}\n`,
      );
      process.stderr.write(`${s.endpoints.length} endpoints\n`);
    });
}
