import { dirname } from 'node:path';
import {
  ApiKeyInput,
  AttestationEnvelope,
  AttestationKeyList,
  ApiKeyIssuedResponse,
  ApiKeyView,
  BreakGlassAccepted,
  BreakGlassInput,
  CallerView,
  DecisionMade,
  InsightsReport,
  DeploymentRequestInput,
  DeploymentRequestView,
  LIMITS,
  OutcomeAccepted,
  OutcomeReportInput,
  PendingDecision,
  ReviewAccepted,
  ReviewInboxItem,
  ReviewInboxPage,
  ReviewSubmissionInput,
  SubmissionAccepted,
} from '@agf/contracts';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express from 'express';
import { stringify as toYaml } from 'yaml';
import { z } from 'zod';

/**
 * The OpenAPI document of intake's API, written out rather than gathered from controller decorators at
 * start-up: @nestjs/swagger cost intake 3–5 MB of RSS at rest and more under load, for a document that
 * never changes while it runs (docs/benchmarks.md). `openapi.spec.ts` checks it against the routes
 * the controllers declare, so neither can change without the other. Request bodies come from the zod
 * schemas that validate them, response bodies from the schemas intake's integration test checks its answers
 * against.
 */
export function openApiDocument(): OpenApiDocument {
  const requestId = { name: 'id', in: 'path', required: true, description: 'The deployment request id (a UUID)', schema: { type: 'string', format: 'uuid' } };
  return {
    openapi: '3.0.3',
    info: {
      title: 'AGF intake API',
      description:
        'Submit deployment requests, follow them to a governance decision, answer reviews and report outcomes. Every route takes `Authorization: Bearer <AGF API key or OIDC token>`; ' +
        'each names the roles it admits. Errors are application/problem+json.',
      version: '1',
    },
    tags: [{ name: 'deployment requests' }, { name: 'reviews' }, { name: 'outcomes' }, { name: 'api keys' }],
    security: [{ bearer: [] }],
    paths: {
      '/v1/deployment-requests': {
        post: {
          operationId: 'submitDeploymentRequest',
          tags: ['deployment requests'],
          summary: 'Submit a deployment request for governance (role submitter, of its project; the requester is the caller)',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: 'A retry with the same key returns the first request instead of creating a second one',
              schema: { type: 'string', minLength: 1, maxLength: LIMITS.idempotencyKeyLength },
            },
          ],
          requestBody: jsonBody('DeploymentRequestInput'),
          responses: {
            '202': json('Accepted; `Location` names the request, `Idempotent-Replayed: true` marks a replay of an earlier submission', ref('SubmissionAccepted')),
            '400': problem('Invalid input, naming each bad field'),
            ...unauthenticated,
            '403': problem('Not a submitter of the project, or a `requester` other than the authenticated subject'),
            '413': problem('Body over 1 MiB, or a request over 768 KiB as stored (its events must fit in a NATS message)'),
            '415': problem('Body is not application/json'),
            ...busy,
          },
        },
      },
      '/v1/deployment-requests/{id}': {
        get: {
          operationId: 'getDeploymentRequest',
          tags: ['deployment requests'],
          summary: 'The whole story of a request: status, risk, triggers, tier, assignments, reviews, rejected answers, decision (roles submitter, auditor, reviewer)',
          parameters: [requestId],
          responses: {
            '200': json('The request and what is known of it; what is not known yet is null', ref('DeploymentRequestView')),
            ...unauthenticated,
            '403': problem('None of the roles submitter, auditor or reviewer'),
            '404': problem(NOT_VISIBLE),
            ...busy,
          },
        },
      },
      '/v1/deployment-requests/{id}/decision': {
        get: {
          operationId: 'waitForDecision',
          tags: ['deployment requests'],
          summary: 'Long-poll for the decision (CI waits here; roles submitter, auditor, reviewer)',
          parameters: [
            requestId,
            { name: 'waitSeconds', in: 'query', required: false, description: 'How long to wait for the decision', schema: { type: 'integer', minimum: 0, maximum: LIMITS.maxWaitSeconds, default: 0 } },
          ],
          responses: {
            '200': json('The decision (the data of its `decision.made` event)', ref('DecisionMade')),
            '202': json('Still pending when the wait ended; `Retry-After` says when to ask again. While escalated, `escalation` names who must decide and by when', ref('PendingDecision')),
            '400': problem('waitSeconds out of range'),
            ...unauthenticated,
            '403': problem('None of the roles submitter, auditor or reviewer'),
            '404': problem(NOT_VISIBLE),
            ...busy,
          },
        },
      },
      '/v1/deployment-requests/{id}/reviews': {
        post: {
          operationId: 'submitReview',
          tags: ['reviews'],
          summary: "A human reviewer's answer to an assignment (role reviewer, bound to the assigned expert; never the request's requester)",
          parameters: [requestId],
          requestBody: jsonBody('ReviewSubmissionInput'),
          responses: {
            '202': json('Accepted; CoE records it and decides when every required review is in (an answer it cannot take any more is announced as `review.rejected` on NATS and listed in the request view as `rejectedAnswers`)', ref('ReviewAccepted')),
            '400': problem('Invalid input, naming each bad field'),
            ...unauthenticated,
            '403': problem('Not a reviewer, not bound to the assigned expert, or the requester reviewing their own change'),
            '404': problem(NOT_VISIBLE),
            '409': problem('Already answered, assignment closed, or request already decided'),
            '415': problem('Body is not application/json'),
            '422': problem('Unknown assignment, not the assigned expert, or the requester reviewing their own change'),
            ...busy,
          },
        },
      },
      '/v1/deployment-requests/{id}/outcome': {
        post: {
          operationId: 'reportOutcome',
          tags: ['outcomes'],
          summary: 'Report what happened after the decision; AGF learns from it (role submitter, of its project)',
          parameters: [requestId],
          requestBody: jsonBody('OutcomeReportInput'),
          responses: {
            '202': json('Accepted', ref('OutcomeAccepted')),
            '400': problem('Invalid input, naming each bad field'),
            ...unauthenticated,
            '403': problem('Not a submitter of the project'),
            '404': problem(NOT_VISIBLE),
            '409': problem('The request has no decision yet'),
            '415': problem('Body is not application/json'),
            ...busy,
          },
        },
      },
      '/v1/api-keys': {
        post: {
          operationId: 'issueApiKey',
          tags: ['api keys'],
          summary: 'Issue an API key (role admin); the key is in this answer only, AGF keeps its SHA-256',
          parameters: [],
          requestBody: jsonBody('ApiKeyInput'),
          responses: {
            '201': json('Issued; every service accepts it within moments', ref('ApiKeyIssuedResponse')),
            '400': problem('Invalid input, naming each bad field (an expiresAt in the past among them)'),
            ...unauthenticated,
            '403': problem('Not an admin'),
            '415': problem('Body is not application/json'),
            ...busy,
          },
        },
        get: {
          operationId: 'listApiKeys',
          tags: ['api keys'],
          summary: 'Every API key issued, oldest first, without the keys (role admin)',
          parameters: [],
          responses: { '200': json('The keys', ref('ApiKeyList')), ...unauthenticated, '403': problem('Not an admin'), ...busy },
        },
      },
      '/v1/api-keys/{id}': {
        delete: {
          operationId: 'revokeApiKey',
          tags: ['api keys'],
          summary: 'Revoke an API key (role admin): every service refuses it within seconds; revoking it again changes nothing',
          parameters: [{ name: 'id', in: 'path', required: true, description: 'The API key id (a UUID)', schema: { type: 'string', format: 'uuid' } }],
          responses: { '204': { description: 'Revoked' }, ...unauthenticated, '403': problem('Not an admin'), '404': problem('Unknown id'), ...busy },
        },
      },
      ...humanLoopPaths(requestId),
      ...pipelinePaths(requestId),
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An AGF API key (`agf_…`) or a JWT from the configured OIDC issuer' },
      },
      schemas: {
        DeploymentRequestInput: z.toJSONSchema(DeploymentRequestInput, { target: 'openapi-3.0' }) as object,
        ReviewSubmissionInput: z.toJSONSchema(ReviewSubmissionInput, { target: 'openapi-3.0' }) as object,
        OutcomeReportInput: z.toJSONSchema(OutcomeReportInput, { target: 'openapi-3.0' }) as object,
        ApiKeyInput: z.toJSONSchema(ApiKeyInput, { target: 'openapi-3.0' }) as object,
        ...responseSchemas({ SubmissionAccepted, DeploymentRequestView, DecisionMade, PendingDecision, ReviewAccepted, OutcomeAccepted, ApiKeyIssuedResponse, ApiKeyList: z.array(ApiKeyView) }),
        BreakGlassInput: z.toJSONSchema(BreakGlassInput, { target: 'openapi-3.0' }) as object,
        ...responseSchemas({ ReviewInboxPage, ReviewInboxItem, BreakGlassAccepted }),
        ...responseSchemas({ AttestationEnvelope, AttestationKeyList }),
        ...responseSchemas({ InsightsReport, CallerView }),
        Problem: {
          type: 'object',
          description: 'RFC 9457 problem details',
          properties: {
            type: { type: 'string', format: 'uri' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            instance: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
          },
          required: ['type', 'title', 'status'],
        },
      },
    },
  };
}

/** The reviewer's inbox and break-glass (the human loop). */
function humanLoopPaths(requestId: object): OpenApiDocument['paths'] {
  const inboxRoles = 'roles reviewer (assignee=me), admin or auditor (assignee=<expertId>)';
  return {
    '/v1/reviews': {
      get: {
        operationId: 'listReviews',
        tags: ['reviews'],
        summary: `The assignments of the experts the caller answers for, most urgent first: open ones by SLA due time, then (status=all) the rest newest first (${inboxRoles})`,
        parameters: [
          { name: 'assignee', in: 'query', required: false, description: '`me` (the experts the caller is bound to); an admin or auditor may name an expert id', schema: { type: 'string', default: 'me' } },
          { name: 'status', in: 'query', required: false, description: '`pending`: still to answer (pending or breached); `all`: every assignment', schema: { type: 'string', enum: ['pending', 'all'], default: 'pending' } },
          { name: 'limit', in: 'query', required: false, description: 'Items per page', schema: { type: 'integer', minimum: 1, maximum: LIMITS.inboxPageMax, default: LIMITS.inboxPageDefault } },
          { name: 'cursor', in: 'query', required: false, description: 'The `nextCursor` of the previous page (opaque)', schema: { type: 'string' } },
        ],
        responses: {
          '200': json('One page; `nextCursor` is null on the last', ref('ReviewInboxPage')),
          '400': problem('A bad assignee, status, limit or cursor, naming each'),
          ...unauthenticated,
          '403': problem('None of the roles reviewer, admin or auditor; or a reviewer naming an assignee other than `me`'),
          ...busy,
        },
      },
    },
    '/v1/reviews/{assignmentId}': {
      get: {
        operationId: 'getReview',
        tags: ['reviews'],
        summary: `One assignment as its reviewer sees it (${inboxRoles})`,
        parameters: [{ name: 'assignmentId', in: 'path', required: true, description: 'The assignment id (a UUID)', schema: { type: 'string', format: 'uuid' } }],
        responses: {
          '200': json('The assignment', ref('ReviewInboxItem')),
          ...unauthenticated,
          '403': problem('None of the roles reviewer, admin or auditor'),
          '404': problem("Unknown id, or another expert's assignment"),
          ...busy,
        },
      },
    },
    '/v1/me': {
      get: {
        operationId: 'getCaller',
        tags: ['api keys'],
        summary: 'The authenticated caller: subject, roles, projects and the experts they answer for (any role)',
        parameters: [],
        responses: {
          '200': json('The caller', ref('CallerView')),
          ...unauthenticated,
          '403': problem('A credential without any role'),
          ...busy,
        },
      },
    },
    '/v1/insights': {
      get: {
        operationId: 'getInsights',
        tags: ['deployment requests'],
        summary: 'Figures over a period, overall and per project: decisions by outcome, lead time p50/p90, SLA compliance, change failure rate, deployments per day; the escalation queue; each expert\'s load and answer times (roles admin or auditor)',
        parameters: [
          { name: 'from', in: 'query', required: false, description: 'Start of the period (ISO 8601); default 30 days before `to`', schema: { type: 'string', format: 'date-time' } },
          { name: 'to', in: 'query', required: false, description: 'End of the period (ISO 8601, exclusive); default now', schema: { type: 'string', format: 'date-time' } },
          { name: 'projectId', in: 'query', required: false, description: 'Only this project', schema: { type: 'string' } },
        ],
        responses: {
          '200': json('The figures', ref('InsightsReport')),
          '400': problem('A bad period or project id, naming each'),
          ...unauthenticated,
          '403': problem('Neither admin nor auditor'),
          ...busy,
        },
      },
    },
    '/v1/deployment-requests/{id}/break-glass': {
      post: {
        operationId: 'breakGlass',
        tags: ['deployment requests'],
        summary: 'Approve an undecided request at once as an emergency change, reviewed after the fact (role emergency, of its project); announced as `deployment.break_glass`',
        parameters: [requestId],
        requestBody: jsonBody('BreakGlassInput'),
        responses: {
          '202': json('Accepted; the CoE decides it as an emergency change and assigns the review after the fact', ref('BreakGlassAccepted')),
          '400': problem('Invalid input, naming each bad field'),
          ...unauthenticated,
          '403': problem('Not holding the emergency role'),
          '404': problem(NOT_VISIBLE),
          '409': problem('Already decided (`already-decided`), or a break-glass was already asked for (`break-glass-requested`)'),
          '415': problem('Body is not application/json'),
          ...busy,
        },
      },
    },
  };
}

/** OpenAPI at `/docs` (Swagger UI), `/docs-json` and `/docs-yaml`. */
/**
 * The document is built for each request of it (a few milliseconds; people and tools read it now and then)
 * rather than held: as an object and as YAML it would keep about a megabyte of intake's heap for good.
 */
export function serveOpenApi(app: NestExpressApplication): void {
  // The UI's own files; `swagger-ui-dist`'s main module would load its browser bundle into this process.
  const swaggerUi = dirname(require.resolve('swagger-ui-dist/absolute-path.js'));
  const http = app.getHttpAdapter().getInstance() as express.Express;
  http.get('/docs-json', (_req, res) => void res.json(openApiDocument()));
  http.get('/docs-yaml', (_req, res) => void res.type('text/yaml').send(toYaml(openApiDocument())));
  http.get('/docs', (_req, res) => void res.type('html').send(SWAGGER_UI_PAGE));
  http.use('/docs', express.static(swaggerUi, { index: false }));
}

const SWAGGER_UI_PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>AGF intake API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>window.ui = SwaggerUIBundle({ url: '/docs-json', dom_id: '#swagger-ui' });</script>
</body>
</html>
`;

/** A request the caller may not see is answered exactly like an unknown one. */
const NOT_VISIBLE = 'Unknown id, or a request the caller may not see';

const unauthenticated = {
  '401': problem('Missing, expired or invalid credential; `WWW-Authenticate: Bearer`'),
};

const busy = {
  '429': problem('Over the per-client rate limit; `Retry-After` says when to try again'),
  '503': problem('Overloaded or a dependency is down; nothing was stored, `Retry-After` says when to try again'),
};

function jsonBody(schema: string) {
  return { required: true, content: { 'application/json': { schema: ref(schema) } } };
}

function ref(schema: string) {
  return { $ref: `#/components/schemas/${schema}` };
}

function responseSchemas(schemas: Record<string, z.ZodType>): Record<string, object> {
  return Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'output', unrepresentable: 'any' }) as object]));
}

function json(description: string, schema: object) {
  return { description, content: { 'application/json': { schema } } };
}

function problem(description: string) {
  return { description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
}

export interface OpenApiOperation {
  operationId: string;
  tags: string[];
  summary: string;
  parameters: object[];
  requestBody?: object;
  responses: Record<string, object>;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; description: string; version: string };
  tags: Array<{ name: string }>;
  security: Array<Record<string, string[]>>;
  paths: Record<string, Partial<Record<'get' | 'post' | 'delete', OpenApiOperation>>>;
  components: { securitySchemes: Record<string, object>; schemas: Record<string, object> };
}

/** Live progress and signed decisions (docs/cli.md, docs/attestations.md). */
function pipelinePaths(requestId: object): OpenApiDocument['paths'] {
  const readers = { ...unauthenticated, '403': problem('None of the roles submitter, auditor or reviewer'), '404': problem(NOT_VISIBLE), ...busy };
  return {
    '/v1/deployment-requests/{id}/events': {
      get: {
        operationId: 'followDeploymentRequest',
        tags: ['deployment requests'],
        summary: "The request's story as Server-Sent Events, oldest first; resumable; ends after `decision.made` (roles submitter, auditor, reviewer)",
        parameters: [
          requestId,
          { name: 'Last-Event-ID', in: 'header', required: false, description: 'Resume after this event id (a per-request sequence number)', schema: { type: 'integer', minimum: 0 } },
          { name: 'lastEventId', in: 'query', required: false, description: 'Same as Last-Event-ID, for clients that cannot set headers', schema: { type: 'integer', minimum: 0 } },
        ],
        responses: {
          '200': {
            description: 'text/event-stream: `id` = sequence number, `event` = event type (risk.assessed, review.classified, review.assigned, review.completed, review.rejected, review.cancelled, sla.warning, sla.breached, compliance.evaluated, decision.escalated, decision.made), `data` = `{seq, type, recordedAt, data}`; `: heartbeat` comments meanwhile',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          '400': problem('Last-Event-ID is not an event id'),
          ...readers,
        },
      },
    },
    '/v1/deployment-requests/{id}/attestation': {
      get: {
        operationId: 'getDecisionAttestation',
        tags: ['deployment requests'],
        summary: 'The signed attestation of the decision: an in-toto Statement v1 in a DSSE envelope, Ed25519 (roles submitter, auditor, reviewer)',
        parameters: [requestId],
        responses: {
          '200': json('DSSE envelope `{payloadType, payload (base64 in-toto statement), signatures: [{keyid, sig}]}`', ref('AttestationEnvelope')),
          ...readers,
        },
      },
    },
    '/v1/attestation-keys': {
      get: {
        operationId: 'listAttestationKeys',
        tags: ['deployment requests'],
        summary: 'The public keys attestations are signed with, current and previous (roles submitter, auditor, reviewer, admin)',
        parameters: [],
        responses: { '200': json('The current key first, then rotated-out ones', ref('AttestationKeyList')), ...unauthenticated, '403': problem('No reading role'), ...busy },
      },
    },
  };
}
