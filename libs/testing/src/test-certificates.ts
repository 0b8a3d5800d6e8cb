import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificates {
  /** The test CA's certificate: what clients trust. */
  caFile: string;
  /** A server certificate for 127.0.0.1 and localhost, signed by the CA, and its key. */
  certFile: string;
  keyFile: string;
}

/**
 * A throw-away CA and a server certificate it signs, made with the machine's openssl, for TLS tests.
 * `clientAuth`: the certificate may also authenticate a client, as nats-server's cluster routes require of each other.
 */
export function createTestCertificates(dir: string, options: { clientAuth?: boolean } = {}): TestCertificates {
  const file = (name: string) => join(dir, name);
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ecKey, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=agf-test-ca']);
  openssl(['req', ...ecKey, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(file('server.ext'), `subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth${options.clientAuth ? ',clientAuth' : ''}\n`);
  openssl(['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('server.ext')]);
  return { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key') };
}
