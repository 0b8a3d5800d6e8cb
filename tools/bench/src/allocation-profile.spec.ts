import { packageOf, type ProfileNode, summarise } from './allocation-profile';

const frame = (functionName: string, url: string, selfSize: number, children: ProfileNode[] = []): ProfileNode => ({ callFrame: { functionName, url, lineNumber: 1 }, selfSize, children });

describe('allocation profile summary', () => {
  it('names packages, AGF code and native frames', () => {
    expect(packageOf('file:///w/node_modules/pg/lib/utils.js')).toBe('pg');
    expect(packageOf('file:///w/node_modules/@nats-io/nats-core/lib/x.js')).toBe('@nats-io/nats-core');
    expect(packageOf('file:///w/dist/libs/platform/src/database.js')).toBe('AGF libs/platform');
    expect(packageOf('')).toBe('(native)');
  });

  it('counts each allocation once, by its own frame and by its call site', () => {
    const head = frame('(root)', '', 0, [
      frame('send', 'file:///w/dist/libs/platform/src/database.js', 10, [frame('replace', '', 30), frame('arrayString', 'file:///w/node_modules/pg/lib/utils.js', 5)]),
      frame('parse', 'file:///w/node_modules/zod/index.js', 5),
    ]);
    const { total, byPackage, bySite } = summarise(head);
    expect(total).toBe(50);
    expect(Object.fromEntries(byPackage)).toEqual({ 'AGF libs/platform': 10, '(native)': 30, pg: 5, zod: 5 });
    expect(bySite.get('(native) replace:1 < AGF libs/platform send:1 < (native) (root):1')).toBe(30);
  });
});
