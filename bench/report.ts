/**
 * `npm run bench:report [NAME]`: rewrites the markdown report of bench/results/NAME.json (default
 * `latest`, whose report is bench/RESULTS.md) without running the bench, e.g. after editing
 * bench/RESULTS.notes.md. `npm run bench` writes the report itself at the end of a run.
 */
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeResultsMarkdown } from './core/results-markdown.js';

const name = process.argv[2] ?? 'latest';
if (!/^[\w.-]+$/.test(name)) {
  process.stderr.write(`bench:report: '${name}' is not a plain result name (e.g. latest)\n`);
  process.exit(2);
}
const results = join(dirname(fileURLToPath(import.meta.url)), 'results');
const written = writeResultsMarkdown(join(results, `${name}.json`));
process.stdout.write(`wrote ${relative(process.cwd(), written)}\n`);
