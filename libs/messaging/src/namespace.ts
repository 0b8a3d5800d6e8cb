import { STREAMS, type StreamName } from '@agf/contracts';

/**
 * A namespace isolates one test run (or one tenant of a shared NATS) from every other: subjects get a
 * `<ns>.` prefix and streams a `<NS>_` prefix. The production namespace is empty, so the contract's
 * subjects (`agf.v1.…`) and stream names (`AGF_…`) are used exactly as written.
 */
export class Namespace {
  constructor(readonly prefix: string = '') {
    if (prefix && !/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) {
      throw new Error(`AGF_NAMESPACE: expected 1-32 characters of [A-Za-z0-9_-], got "${prefix}"`);
    }
  }

  subject(subject: string): string {
    return this.prefix ? `${this.prefix}.${subject}` : subject;
  }

  /** The contract subject of a namespaced one, or undefined if it belongs to another namespace. */
  strip(subject: string): string | undefined {
    if (!this.prefix) return subject;
    const head = `${this.prefix}.`;
    return subject.startsWith(head) ? subject.slice(head.length) : undefined;
  }

  stream(name: StreamName): string {
    return this.prefix ? `${this.prefix.toUpperCase().replace(/-/g, '_')}_${name}` : name;
  }

  streamSubjects(name: StreamName): string[] {
    return STREAMS[name].subjects.map((s) => this.subject(s));
  }
}
