import { serviceNodeFlags } from './process-layout';

describe('serviceNodeFlags', () => {
  it('runs the services nearest the memory target without Maglev, the others with V8 defaults for the compilers', () => {
    expect(serviceNodeFlags('intake', {})).toEqual(['--max-semi-space-size=2', '--optimize-for-size', '--no-maglev']);
    expect(serviceNodeFlags('compliance', {})).toEqual(['--max-semi-space-size=2', '--optimize-for-size', '--no-maglev']);
    expect(serviceNodeFlags('risk', {})).toEqual(['--max-semi-space-size=2', '--optimize-for-size']);
  });

  it('takes AGF_SERVICE_NODE_FLAGS instead, for every service; empty means V8 defaults', () => {
    expect(serviceNodeFlags('intake', { AGF_SERVICE_NODE_FLAGS: ' --max-semi-space-size=4  --cpu-prof ' })).toEqual(['--max-semi-space-size=4', '--cpu-prof']);
    expect(serviceNodeFlags('compliance', { AGF_SERVICE_NODE_FLAGS: '' })).toEqual([]);
  });
});
