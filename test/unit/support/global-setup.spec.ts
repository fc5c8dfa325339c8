import { ensureBinaries, type BinaryEnvironment } from '../../support/global-setup.js';
import { waitFor } from '../../support/poll.js';

/** A fake machine: which binaries exist, and what apt-get does. */
function machine(options: {
  installed: string[];
  canInstall: boolean;
  aptInstall?: (attempt: number) => string[] | Error;
}): BinaryEnvironment & { commands: string[]; logs: string[] } {
  const installed = new Set(options.installed);
  const commands: string[] = [];
  const logs: string[] = [];
  let installs = 0;
  return {
    commands,
    logs,
    find: (name) => (installed.has(name) ? `/usr/bin/${name}` : undefined),
    canInstall: () => options.canInstall,
    exec: (command, args) => {
      commands.push(`${command} ${args.join(' ')}`);
      if (args[0] !== 'install') return;
      const result = options.aptInstall?.(++installs) ?? [];
      if (result instanceof Error) throw result;
      for (const name of result) installed.add(name);
    },
    log: (message) => logs.push(message),
  };
}

const ALL = ['redis-server', 'redis-cli', 'nutcracker', 'redis-sentinel'];

describe('ensureBinaries()', () => {
  it('does nothing when every binary is installed', () => {
    const env = machine({ installed: ALL, canInstall: true });
    ensureBinaries(env);
    expect(env.commands).toEqual([]);
  });

  it('installs the missing packages with apt-get when it can', () => {
    const env = machine({
      installed: ['redis-server', 'redis-cli'],
      canInstall: true,
      aptInstall: () => ALL,
    });
    ensureBinaries(env);
    expect(env.commands).toEqual([
      'apt-get install -y redis-server redis-tools redis-sentinel nutcracker',
    ]);
    expect(env.logs.join('\n')).toMatch(/missing nutcracker, redis-sentinel/);
  });

  it('runs apt-get update and installs again when the first install fails', () => {
    const env = machine({
      installed: [],
      canInstall: true,
      aptInstall: (attempt) => (attempt === 1 ? new Error('Unable to locate package') : ALL),
    });
    ensureBinaries(env);
    expect(env.commands).toEqual([
      'apt-get install -y redis-server redis-tools redis-sentinel nutcracker',
      'apt-get update',
      'apt-get install -y redis-server redis-tools redis-sentinel nutcracker',
    ]);
  });

  it('throws a loud error naming what is missing when it cannot install', () => {
    const env = machine({ installed: ['redis-cli'], canInstall: false });
    expect(() => ensureBinaries(env)).toThrow(
      /npm test needs redis-server.*\n.*could not install them: missing redis-server, nutcracker, redis-sentinel; not running as root.*\nInstall with: apt-get install -y redis-server redis-tools redis-sentinel nutcracker/,
    );
    expect(env.commands).toEqual([]);
  });

  it('throws with apt-get’s error when the install keeps failing', () => {
    const env = machine({
      installed: [],
      canInstall: true,
      aptInstall: () => new Error('E: Could not open lock file'),
    });
    expect(() => ensureBinaries(env)).toThrow(/apt-get failed: E: Could not open lock file/);
  });
});

describe('waitFor()', () => {
  it('resolves with the first truthy value', async () => {
    let calls = 0;
    await expect(
      waitFor(() => (++calls >= 3 ? 'done' : undefined), { intervalMs: 1 }),
    ).resolves.toBe('done');
  });

  it('rejects after the deadline, quoting the message and the last error', async () => {
    const failing = waitFor(
      () => {
        throw new Error('not yet');
      },
      { timeoutMs: 50, intervalMs: 5, message: 'the thing' },
    );
    await expect(failing).rejects.toThrow(
      'waitFor timed out after 50 ms: the thing (last error: not yet)',
    );
  });
});
