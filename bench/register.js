// Registers bench/ts-hooks.js so that `node --import ./bench/register.js bench/run.ts` runs the
// benchmark's TypeScript directly (and the test/support and sample-app sources it imports).
// The library itself is imported by its package name, i.e. the `dist/` that `npm run build` made.
import { register } from 'node:module';

register('./ts-hooks.js', import.meta.url);
