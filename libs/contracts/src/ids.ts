import { randomUUIDv7 } from 'node:crypto';

/**
 * A new id for what the services key their rows by (requests, events, assignments, deliveries): a UUIDv7, whose
 * leading bits are its creation time. Time-ordered ids are inserted at the right edge of the B-tree indexes
 * they key, so an insert touches the same few hot pages however many years of history an index holds; random
 * (v4) ids each touched a random leaf page, rarely cached, and written to the WAL in full after every
 * checkpoint (`npm run bench:history`). The time in the id is no secret: the request and the event carry it.
 */
export function newId(): string {
  return randomUUIDv7();
}
