import { CLOCK_OFFSET_WARN_MS, probeWarnings } from '../../../lib/l2/redis/server-probe.js';

/** probeWarnings(): what a probe result makes the store log, and nothing when all is well. */
const STORE = 'RedisStore(127.0.0.1:6379)';

describe('probeWarnings()', () => {
  it('returns no line when the server takes PXAT and its clock is close to ours', () => {
    expect(probeWarnings(STORE, { pxat: true, clockOffsetMs: 3 })).toEqual([]);
    expect(probeWarnings(STORE, { pxat: true, clockOffsetMs: -200 })).toEqual([]);
  });

  it('returns no line when the offset could not be measured', () => {
    expect(probeWarnings(STORE, { pxat: true, clockOffsetMs: undefined })).toEqual([]);
  });

  it('returns the PX fallback line, naming the store, when the server lacks PXAT', () => {
    const lines = probeWarnings(STORE, { pxat: false, clockOffsetMs: 0 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(STORE);
    expect(lines[0]).toMatch(/PXAT/);
    expect(lines[0]).toMatch(/\bPX\b/);
    expect(lines[0]).toMatch(/Redis < 6\.2/);
  });

  it('returns no clock line at exactly 250 ms, and one just above, either way', () => {
    expect(CLOCK_OFFSET_WARN_MS).toBe(250);
    expect(probeWarnings(STORE, { pxat: true, clockOffsetMs: 250 })).toEqual([]);
    expect(probeWarnings(STORE, { pxat: true, clockOffsetMs: -250 })).toEqual([]);

    const ahead = probeWarnings(STORE, { pxat: true, clockOffsetMs: 251 });
    expect(ahead).toHaveLength(1);
    expect(ahead[0]).toContain(STORE);
    expect(ahead[0]).toMatch(/251 ms ahead of this host's/);
    expect(ahead[0]).toMatch(/earlier/);

    const behind = probeWarnings(STORE, { pxat: true, clockOffsetMs: -1_234.6 });
    expect(behind).toHaveLength(1);
    expect(behind[0]).toMatch(/1235 ms behind this host's/);
    expect(behind[0]).toMatch(/later/);
  });

  it('returns both lines, PX first, when the server lacks PXAT and its clock is off', () => {
    const lines = probeWarnings(STORE, { pxat: false, clockOffsetMs: 900 });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/Redis < 6\.2/);
    expect(lines[1]).toMatch(/900 ms ahead/);
  });
});
