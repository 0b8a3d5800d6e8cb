import fc from 'fast-check';

/* Generators shared by the fuzz suites. */

/** Values of every JSON type, and strings an injection or a store might trip over. */
export const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 64 }),
  fc.constantFrom("'; DROP TABLE intake.requests; --", 'agf.v1.>', '*', '>', '..', 'a b', '\u0000', '${jndi:ldap://x}', '<script>', '🚀'.repeat(50), 'x'.repeat(5000)),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 4 }),
);

/** Times well-formed for RFC 3339 that a store or a round trip through `Date` may still choke on. */
export const edgeTime = fc.oneof(
  fc.constantFrom('0000-01-01T00:00:00Z', '0001-01-01T00:00:00+14:00', '1969-12-31T23:59:59Z', '9999-12-31T23:59:59-12:00', '2024-02-29T23:59:60Z', '2023-02-29T00:00:00Z'),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
);

