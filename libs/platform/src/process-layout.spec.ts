import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_PORTS, type ServiceName } from './infra-config';
import { repositoryRoot, SERVICE_PROCESS_ENV, serviceNodeFlags, serviceProcessEnv } from './process-layout';

const SERVICES = Object.keys(SERVICE_PORTS) as ServiceName[];

describe('serviceNodeFlags', () => {
  it('runs the services nearest the memory target without Maglev, the others with V8 defaults for the compilers; compliance with larger semi-spaces', () => {
    expect(serviceNodeFlags('intake', {})).toEqual(['--max-semi-space-size=2', '--heap-growing-percent=10', '--no-maglev']);
    expect(serviceNodeFlags('compliance', {})).toEqual(['--max-semi-space-size=4', '--heap-growing-percent=10', '--no-maglev']);
    expect(serviceNodeFlags('learning', {})).toEqual(['--max-semi-space-size=2', '--heap-growing-percent=10', '--no-maglev']);
    expect(serviceNodeFlags('risk', {})).toEqual(['--max-semi-space-size=2', '--heap-growing-percent=10']);
  });

  it('takes AGF_SERVICE_NODE_FLAGS instead, for every service; empty means V8 defaults', () => {
    expect(serviceNodeFlags('intake', { AGF_SERVICE_NODE_FLAGS: ' --max-semi-space-size=4  --cpu-prof ' })).toEqual(['--max-semi-space-size=4', '--cpu-prof']);
    expect(serviceNodeFlags('compliance', { AGF_SERVICE_NODE_FLAGS: '' })).toEqual([]);
  });

  it('takes AGF_SERVICE_NODE_FLAGS_<SERVICE> for that service alone, before AGF_SERVICE_NODE_FLAGS', () => {
    const env = { AGF_SERVICE_NODE_FLAGS: '--cpu-prof', AGF_SERVICE_NODE_FLAGS_COMPLIANCE: '--max-semi-space-size=8' };
    expect(serviceNodeFlags('compliance', env)).toEqual(['--max-semi-space-size=8']);
    expect(serviceNodeFlags('risk', env)).toEqual(['--cpu-prof']);
    expect(serviceNodeFlags('intake', { AGF_SERVICE_NODE_FLAGS_COMPLIANCE: '' })).toEqual(['--max-semi-space-size=2', '--heap-growing-percent=10', '--no-maglev']);
  });
});

describe('serviceProcessEnv', () => {
  it('limits malloc arenas unless the caller chose a limit of its own', () => {
    expect(serviceProcessEnv({ PATH: '/bin' })).toEqual({ MALLOC_ARENA_MAX: '2', PATH: '/bin' });
    expect(serviceProcessEnv({ MALLOC_ARENA_MAX: '8' })).toEqual({ MALLOC_ARENA_MAX: '8' });
  });
});

describe('the container image command (deploy/Dockerfile)', () => {
  const root = repositoryRoot(__dirname);

  it('sets the environment every service process starts with', () => {
    const dockerfile = readFileSync(join(root, 'deploy', 'Dockerfile'), 'utf8');
    for (const [name, value] of Object.entries(SERVICE_PROCESS_ENV)) expect(dockerfile).toMatch(new RegExp(`^ENV ${name}=${value}$`, 'm'));
  });
  const cmd = /^CMD (.+)$/m.exec(readFileSync(join(root, 'deploy', 'Dockerfile'), 'utf8'))?.[1];

  it.each(SERVICES)('starts %s with serviceNodeFlags', (service) => {
    const [shell, option, script] = JSON.parse(cmd!) as string[];
    expect([shell, option]).toEqual(['sh', '-c']);
    // Run as the image would, from a directory holding `dist/` (npm test builds it first), printing the command
    // it would start instead of starting the service (a timeout, should a changed command start it anyway).
    const printed = spawnSync('sh', ['-c', script!.replace(/exec node /, 'exec echo ')], {
      cwd: root,
      env: { PATH: process.env['PATH'], SERVICE: service },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(printed.stderr).toBe('');
    expect(printed.stdout.trim()).toBe([...serviceNodeFlags(service, {}), `dist/apps/${service}/src/main.js`].join(' '));
  });
});
