/** Sizes of one bench run; `--quick` shrinks what can be shrunk without changing what is shown. */
export interface BenchSizes {
  /** Measured runs per subject (the tables show the median). */
  runs: number;
  /** Milliseconds per run of an L1-hit loop (a, b). */
  l1RunMs: number;
  /** Distinct keys read per run at 100 in flight (c). */
  l2Keys: number;
  /** Distinct keys read per run one at a time (c). */
  l2SequentialKeys: number;
  /** Durable sets per run (d, e, l). */
  durableSets: number;
  /** Concurrent getOrSet callers of one missing key (f). */
  stampedeCallers: number;
  /** Milliseconds the stampede factory takes (f). */
  stampedeFactoryMs: number;
  /** Instances (apps on the one Redis) of the distributed single-flight grid (k). */
  flightInstances: readonly number[];
  /** Concurrent getOrSet callers of one missing key, in all, spread over the instances (k). */
  flightCallers: readonly number[];
  /** Milliseconds the origin (factory) takes in (k). */
  flightFactoryMs: number;
  /** Entries held for the heap measurement (g). */
  heapEntries: number;
  /** Operations per run of the mixed workload (h), and its key space. */
  mixedOps: number;
  mixedKeys: number;
  /** Updates whose propagation is timed (i). */
  invalidationUpdates: number;
  /** Seconds per autocannon run (j), and its connections. */
  httpSeconds: number;
  httpConnections: number;
}

/** Parsed command line. */
export interface BenchOptions {
  quick: boolean;
  /** Scenario ids to run (a..l); all when empty. */
  only: ReadonlySet<string>;
  sizes: BenchSizes;
  /** Base name of the result files under bench/results/. */
  outName: string;
  /** Set in the child process that runs one scenario (internal flags, see run.ts). */
  child?: { id: string; redisPort: number; reportFile: string };
}

export const ALL_SCENARIOS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'] as const;

const DEFAULT_SIZES: BenchSizes = {
  runs: 5,
  l1RunMs: 400,
  l2Keys: 20_000,
  l2SequentialKeys: 3_000,
  durableSets: 100_000,
  stampedeCallers: 1_000,
  stampedeFactoryMs: 50,
  flightInstances: [1, 2, 4],
  flightCallers: [1, 100, 1_000],
  flightFactoryMs: 50,
  heapEntries: 100_000,
  mixedOps: 40_000,
  mixedKeys: 100_000,
  invalidationUpdates: 1_000,
  httpSeconds: 3,
  httpConnections: 32,
};

const QUICK_SIZES: BenchSizes = {
  ...DEFAULT_SIZES,
  runs: 3,
  l1RunMs: 100,
  l2Keys: 3_000,
  l2SequentialKeys: 800,
  durableSets: 8_000,
  mixedOps: 6_000,
  mixedKeys: 20_000,
  invalidationUpdates: 200,
  httpSeconds: 0.6,
};

const USAGE = `usage: npm run bench -- [--quick] [--only a,c,...] [--runs N] [--out NAME]
       npm run bench --quick   (the same as -- --quick)

  --quick        smaller sizes and 3 runs (under 2 minutes); writes bench/results/latest-quick.{json,svg}
  --only LIST    run only these scenarios (a..l), e.g. --only a,b
  --runs N       measured runs per subject (default 5; the tables show the median)
  --out NAME     base name of the result files (default latest; latest-quick with --quick,
                 latest-only with --only)`;

/** Parses `argv` (without node and the script). Exits with the usage on a bad argument. */
export function parseBenchOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): BenchOptions {
  // `npm run bench --quick` (without `--`) reaches the script as npm config, not as an argument.
  let quick = env['npm_config_quick'] === 'true';
  let only = new Set<string>();
  let runs: number | undefined;
  let outName: string | undefined;
  const child: { id?: string; redisPort?: number; reportFile?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const value = (): string => {
      const next = inline ?? argv[++i];
      if (next === undefined) fail(`${name} needs a value`);
      return next;
    };
    switch (name) {
      case '--quick':
        quick = true;
        break;
      case '--only':
        only = new Set(
          value()
            .split(',')
            .map((id) => id.trim().toLowerCase())
            .filter((id) => id !== ''),
        );
        for (const id of only)
          if (!(ALL_SCENARIOS as readonly string[]).includes(id)) fail(`unknown scenario '${id}'`);
        break;
      case '--runs':
        runs = Number(value());
        if (!Number.isInteger(runs) || runs < 1) fail('--runs takes a positive integer');
        break;
      case '--out':
        outName = value();
        if (!/^[\w.-]+$/.test(outName)) fail('--out takes a plain file name');
        break;
      // Internal: the parent process runs each scenario in a child with these.
      case '--child':
        child.id = value();
        break;
      case '--redis-port':
        child.redisPort = Number(value());
        break;
      case '--report-file':
        child.reportFile = value();
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        fail(`unknown argument '${arg}'`);
    }
  }
  const sizes = {
    ...(quick ? QUICK_SIZES : DEFAULT_SIZES),
    ...(runs === undefined ? {} : { runs }),
  };
  return {
    quick,
    only,
    sizes,
    // A partial run (--only) never overwrites the full report (latest.json, RESULTS.md).
    outName: outName ?? (quick ? 'latest-quick' : only.size === 0 ? 'latest' : 'latest-only'),
    ...(child.id !== undefined && child.redisPort !== undefined && child.reportFile !== undefined
      ? { child: { id: child.id, redisPort: child.redisPort, reportFile: child.reportFile } }
      : {}),
  };
}

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}\n`);
  process.exit(2);
}
