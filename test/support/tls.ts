import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from './temp-dir.js';

const run = promisify(execFile);

/** Files of a throw-away certificate authority and a server certificate for 127.0.0.1. */
export interface TestCertificates {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** The CA certificate's PEM, for a client's `tls.ca`. */
  caPem: Buffer;
}

/**
 * Makes a CA and a server certificate (SAN IP:127.0.0.1 and DNS:localhost) signed by it, with
 * the openssl CLI, in a fresh temp dir. Made at test time: no key material lives in the repo.
 */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = makeTempDir('tls');
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): Promise<unknown> => run('openssl', args, { cwd: dir });
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
  );
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
  );
  await run('sh', [
    '-c',
    `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost' > ${file('san.ext')}`,
  ]);
  await openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    file('san.ext'),
    '-out',
    file('server.crt'),
  );
  return {
    dir,
    caCert: file('ca.crt'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    caPem: readFileSync(file('ca.crt')),
  };
}
