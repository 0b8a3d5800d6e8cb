/** Keys that can pollute prototypes when a body is merged or copied; rejected anywhere in input. */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Paths of every unsafe key in a parsed JSON value (depth-first, capped so a hostile body stays cheap). */
export function findUnsafeKeys(value: unknown, path = '', found: string[] = [], depth = 0): string[] {
  if (found.length >= 20 || depth > 64 || value === null || typeof value !== 'object') return found;
  if (Array.isArray(value)) {
    value.forEach((item, index) => findUnsafeKeys(item, `${path}${path ? '.' : ''}${index}`, found, depth + 1));
    return found;
  }
  for (const key of Object.keys(value)) {
    const keyPath = `${path}${path ? '.' : ''}${key}`;
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

export const NUL_CHARACTER_MESSAGE = 'contains a NUL character (\\u0000), which cannot be stored';

/**
 * Paths of the keys and strings holding a NUL character (`\u0000`): valid JSON, but Postgres can store it in
 * neither `text` nor `jsonb`, so such input is refused rather than failing at the store.
 */
export function findNulCharacters(value: unknown, path = '', found: string[] = [], depth = 0): string[] {
  if (found.length >= 20 || depth > 64) return found;
  if (typeof value === 'string') {
    if (value.includes('\u0000')) found.push(path || '(body)');
    return found;
  }
  if (value === null || typeof value !== 'object') return found;
  if (Array.isArray(value)) {
    value.forEach((item, index) => findNulCharacters(item, `${path}${path ? '.' : ''}${index}`, found, depth + 1));
    return found;
  }
  for (const key of Object.keys(value)) {
    const keyPath = `${path}${path ? '.' : ''}${key}`;
    if (key.includes('\u0000')) found.push(keyPath);
    else findNulCharacters((value as Record<string, unknown>)[key], keyPath, found, depth + 1);
  }
  return found;
}
