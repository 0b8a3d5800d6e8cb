/** Control characters, which JSON escapes as `\n` or `\u0001` where an array literal keeps them as they are. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f]/;

/**
 * The Postgres array literal pg would send for an array parameter of strings, numbers and nulls, or undefined
 * for any other array (pg then writes it itself).
 *
 * pg quotes each element with two regular-expression replaces (of `\` and of `"`): for a 3 KB JSON text about
 * 40 µs, and the largest allocation of every service (the payloads, story rows and audit entries that batches
 * write as `unnest($n::jsonb[])`). A string without control characters or lone surrogates is quoted in an
 * array literal exactly as JSON quotes it, and V8's `JSON.stringify` of a string does that several times
 * faster; any other string is quoted as pg quotes it. The text is pg's, character for character
 * (`array-literal.spec.ts` holds it to pg's own).
 */
export function arrayLiteral(values: readonly unknown[]): string | undefined {
  const elements = new Array<string>(values.length);
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    if (value === null || value === undefined) elements[i] = 'NULL';
    else if (typeof value === 'string') elements[i] = quoted(value);
    else if (typeof value === 'number') elements[i] = `"${String(value)}"`;
    else return undefined;
  }
  return `{${elements.join(',')}}`;
}

function quoted(value: string): string {
  if (!CONTROL_CHARACTER.test(value) && value.isWellFormed()) return JSON.stringify(value);
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The parameters with each array arrayLiteral can write replaced by its literal; the same list when there is none. */
export function withArrayLiterals(values: readonly unknown[]): readonly unknown[] {
  let prepared: unknown[] | undefined;
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    if (!Array.isArray(value)) continue;
    const literal = arrayLiteral(value);
    if (literal === undefined) continue;
    prepared ??= values.slice();
    prepared[i] = literal;
  }
  return prepared ?? values;
}
