import fc from 'fast-check';
import { arrayLiteral, withArrayLiterals } from './array-literal';

// pg's own conversion of a parameter (not in its typings): the text these must equal.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a module of pg that has no typings to import
const { prepareValue } = require('pg/lib/utils') as { prepareValue(value: unknown): unknown };

const anyString = fc.oneof(
  fc.string({ unit: 'binary' }), // any code unit: control characters and lone surrogates included
  fc.string({ unit: 'grapheme' }),
  fc.json(), // JSON texts, as the services send them
  fc.constantFrom('', '"', '\\', '\\"', 'NULL', '{a,b}', 'a\nb', '\ud800', '\udc00x', '\u2028', '😀'),
);

describe('arrayLiteral', () => {
  it('writes the literal pg writes, for any strings, numbers and nulls', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(anyString, fc.constant(null), fc.constant(undefined), fc.double(), fc.integer())), (values) => {
        expect(arrayLiteral(values)).toBe(prepareValue(values));
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves arrays of anything else to pg', () => {
    expect(arrayLiteral([new Date(0)])).toBeUndefined();
    expect(arrayLiteral(['a', ['b']])).toBeUndefined();
    expect(arrayLiteral([{ a: 1 }])).toBeUndefined();
    expect(arrayLiteral([true])).toBeUndefined();
    expect(arrayLiteral([Buffer.from('a')])).toBeUndefined();
  });
});

describe('withArrayLiterals', () => {
  it('replaces only the arrays it can write, and returns the same list when there are none', () => {
    const plain = ['a', 1, null];
    expect(withArrayLiterals(plain)).toBe(plain);
    const dates = [[new Date(0)]];
    expect(withArrayLiterals(dates)).toBe(dates);
    const mixed = ['x', ['{"a":"b"}', null], [new Date(0)]];
    expect(withArrayLiterals(mixed)).toEqual(['x', '{"{\\"a\\":\\"b\\"}",NULL}', [new Date(0)]]);
    expect(mixed[1]).toEqual(['{"a":"b"}', null]);
  });
});
