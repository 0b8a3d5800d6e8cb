import { z } from 'zod';
import { CATALOG, eventType, MESSAGE_NAMES, type MessageName } from '../catalog';
import { DeploymentRequestInput, OutcomeReportInput, ReviewSubmissionInput } from '../deployment-request';
import { cloudEventSchema } from '../envelope';
import { DeploymentRequestView, OutcomeAccepted, PendingDecision, ReviewAccepted, SubmissionAccepted } from '../http-views';
import { STREAMS } from '../streams';

/**
 * JSON Schema and AsyncAPI documents derived from the zod schemas, so that a subscriber in any language
 * can validate what AGF publishes. `npm run contracts:generate` writes them; a test fails when the
 * checked-in copies drift from the code.
 */
export function messageJsonSchema(name: MessageName): Record<string, unknown> {
  const entry = CATALOG[name];
  const schema = entry.kind === 'event' ? cloudEventSchema(name as Parameters<typeof cloudEventSchema>[0]) : entry.schema;
  return {
    $id: `https://agf.dev/schemas/${name}.v1.json`,
    title: entry.kind === 'event' ? eventType(name) : `${entry.subjectBase} (command)`,
    description: entry.description,
    ...(z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>),
  };
}

export function publishedDocuments(): Record<string, unknown> {
  const files: Record<string, unknown> = {};
  for (const name of MESSAGE_NAMES) files[`json-schema/${name}.v1.json`] = messageJsonSchema(name);
  const http = { DeploymentRequestInput, ReviewSubmissionInput, OutcomeReportInput };
  for (const [title, schema] of Object.entries(http)) {
    files[`json-schema/http.${title}.json`] = { title, ...(z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as object) };
  }
  const responses = { SubmissionAccepted, DeploymentRequestView, PendingDecision, ReviewAccepted, OutcomeAccepted };
  for (const [title, schema] of Object.entries(responses)) {
    files[`json-schema/http.${title}.json`] = { title, ...(z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' }) as object) };
  }
  files['asyncapi.json'] = asyncApiDocument();
  return files;
}

function asyncApiDocument(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const name of MESSAGE_NAMES) {
    const entry = CATALOG[name];
    const key = name.replace(/\./g, '_');
    const address = entry.token === 'none' ? entry.subjectBase : `${entry.subjectBase}.{${entry.token}}`;
    messages[key] = {
      name,
      title: entry.kind === 'event' ? eventType(name) : entry.subjectBase,
      summary: entry.description,
      contentType: 'application/json',
      payload: { $ref: `./json-schema/${name}.v1.json` },
      ...(entry.kind === 'event'
        ? { headers: { type: 'object', properties: { 'Nats-Msg-Id': { type: 'string', description: 'The CloudEvent id' }, traceparent: { type: 'string' } } } }
        : {}),
    };
    channels[key] = {
      address,
      description: `${entry.description} Stream ${entry.stream}.`,
      messages: { [key]: { $ref: `#/components/messages/${key}` } },
      ...(entry.token === 'none' ? {} : { parameters: { [entry.token]: { description: entry.token === 'projectId' ? 'Project id, [A-Za-z0-9_-]{1,128}' : 'Expert id' } } }),
    };
    operations[`receive_${key}`] = { action: 'receive', channel: { $ref: `#/channels/${key}` }, messages: [{ $ref: `#/channels/${key}/messages/${key}` }] };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'AGF events',
      version: '1.0.0',
      description: `CloudEvents 1.0 (structured JSON) over NATS JetStream. Streams: ${Object.keys(STREAMS).join(', ')}.`,
    },
    defaultContentType: 'application/json',
    servers: { local: { host: 'localhost:4222', protocol: 'nats', description: 'NATS with JetStream' } },
    channels,
    operations,
    components: { messages },
  };
}
