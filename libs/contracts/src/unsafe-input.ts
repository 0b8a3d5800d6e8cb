import type { ValidationIssue } from './events/schemas';

/* Input every JSON body and event is checked for before its schema. */

/** A value's path in error messages: keys and array indexes joined with dots. */
function childPath(path: string, segment: string): string {
  return path ? `${path}.${segment}` : segment;
}

/** Keys that can pollute prototypes when a body is merged or copied; rejected anywhere in input. */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Paths of every unsafe key in a parsed JSON value (depth-first, capped so a hostile body stays cheap). */
export function findUnsafeKeys(value: unknown, path = '', found: string[] = [], depth = 0): string[] {
  if (found.length >= 20 || depth > 64 || value === null || typeof value !== 'object') return found;
  if (Array.isArray(value)) {
    value.forEach((item, index) => findUnsafeKeys(item, childPath(path, String(index)), found, depth + 1));
    return found;
  }
  for (const key of Object.keys(value)) {
    const keyPath = childPath(path, key);
    if (UNSAFE_KEYS.has(key)) found.push(keyPath);
    else findUnsafeKeys((value as Record<string, unknown>)[key], keyPath, found, depth + 1);
  }
  return found;
}

/** Deepest nesting of a JSON value; bodies nested beyond a limit are refused before validation. */
export function jsonDepth(value: unknown, depth = 0): number {
  if (depth > 128 || value === null || typeof value !== 'object') return depth;
  let max = depth;
  for (const child of Object.values(value)) max = Math.max(max, jsonDepth(child, depth + 1));
  return max;
}

export const UNSTORABLE_STRING_MESSAGE = 'contains a NUL character (\\u0000) or an unpaired UTF-16 surrogate, which cannot be stored';

/** Whether Postgres can store the string in `text` and `jsonb`: no NUL character, and well-formed UTF-16. */
function storable(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}

/**
 * Paths of the keys and strings Postgres cannot store: with a NUL character (`\u0000`) or an unpaired
 * surrogate (`\ud800`). Both are valid JSON, so such input is refused here rather than failing at the store.
 */
export function findUnstorableStrings(value: unknown, path = '', found: string[] = [], depth = 0): string[] {
  if (found.length >= 20 || depth > 64) return found;
  if (typeof value === 'string') {
    if (!storable(value)) found.push(path || '(body)');
    return found;
  }
  if (value === null || typeof value !== 'object') return found;
  if (Array.isArray(value)) {
    value.forEach((item, index) => findUnstorableStrings(item, childPath(path, String(index)), found, depth + 1));
    return found;
  }
  for (const key of Object.keys(value)) {
    const keyPath = childPath(path, key);
    // The path names the key as JSON would escape it: it ends up in rejection events and views, which are stored.
    if (!storable(key)) found.push(childPath(path, escapeUnstorable(key)));
    else findUnstorableStrings((value as Record<string, unknown>)[key], keyPath, found, depth + 1);
  }
  return found;
}

/** NUL characters and unpaired surrogates spelled out as JSON escapes (`\u0000`, `\ud800`). */
function escapeUnstorable(text: string): string {
  // eslint-disable-next-line no-control-regex -- the NUL character is what it looks for
  return text.replace(/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** How deeply a JSON body may nest. */
export const MAX_JSON_DEPTH = 32;

/**
 * The checks every JSON body from outside gets before its schema, in this order: prototype-polluting keys,
 * nesting, strings Postgres cannot store. The first that fails is reported (`problem` completes "the body …").
 */
export function findJsonInputProblem(body: unknown): { problem: string; errors: ValidationIssue[] } | undefined {
  const unsafe = findUnsafeKeys(body);
  if (unsafe.length) return { problem: 'has keys that are not allowed', errors: unsafe.map((path) => ({ path, message: 'key not allowed (prototype pollution)' })) };
  if (jsonDepth(body) > MAX_JSON_DEPTH) return { problem: 'is nested too deeply', errors: [{ path: '(body)', message: `nested deeper than ${MAX_JSON_DEPTH} levels` }] };
  const unstorable = findUnstorableStrings(body);
  if (unstorable.length) return { problem: 'has strings that cannot be stored', errors: unstorable.map((path) => ({ path, message: UNSTORABLE_STRING_MESSAGE })) };
  return undefined;
}
