import 'reflect-metadata';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { IntakeModule } from './intake.module';
import { openApiDocument } from './openapi';

type ControllerClass = abstract new (...args: never[]) => unknown;

/** `POST /v1/deployment-requests/{id}/reviews` for every HTTP handler of intake's controllers, as Nest maps them. */
function declaredRoutes(): string[] {
  const controllers: ControllerClass[] = Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, IntakeModule);
  return controllers.flatMap((controller) => {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    return Object.getOwnPropertyNames(controller.prototype).flatMap((name) => {
      const handler: unknown = controller.prototype[name as keyof typeof controller.prototype];
      if (typeof handler !== 'function') return [];
      const method: RequestMethod | undefined = Reflect.getMetadata(METHOD_METADATA, handler);
      if (method === undefined) return [];
      const path = ['', base, String(Reflect.getMetadata(PATH_METADATA, handler) ?? '')]
        .join('/')
        .replace(/\/+/g, '/')
        .replace(/\/$/, '')
        .replace(/:(\w+)/g, '{$1}');
      return [`${RequestMethod[method]} ${path}`];
    });
  });
}

describe("intake's OpenAPI document", () => {
  const document = openApiDocument();
  const operations = Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path}`, operation })));

  it('describes exactly the routes the controllers declare', () => {
    const routes = declaredRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(5);
    expect(operations.map((o) => o.route).sort()).toEqual(routes.sort());
  });

  it('declares every path parameter, a success and the errors of each operation', () => {
    for (const { route, operation } of operations) {
      const inPath = [...route.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (operation.parameters as Array<{ name: string; in: string }>).filter((p) => p.in === 'path').map((p) => p.name);
      expect({ route, parameters: declared }).toEqual({ route, parameters: inPath });
      expect({ route, success: Object.keys(operation.responses).some((status) => status.startsWith('2')) }).toEqual({ route, success: true });
      expect({ route, busy: Object.keys(operation.responses) }).toEqual({ route, busy: expect.arrayContaining(['429', '503']) });
    }
  });

  it('requires a bearer credential on every operation, and says what a refused one gets', () => {
    expect(document.components.securitySchemes['bearer']).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.security).toEqual([{ bearer: [] }]);
    for (const { route, operation } of operations) {
      expect({ route, refusals: Object.keys(operation.responses) }).toEqual({ route, refusals: expect.arrayContaining(['401', '403']) });
    }
  });

  it('points every $ref at a schema it holds, and takes request bodies from the validating schemas', () => {
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(Object.keys(document.components.schemas)).toContain(ref);
    const submission = document.components.schemas['DeploymentRequestInput'] as { required?: string[] };
    expect(submission.required).toEqual(expect.arrayContaining(['projectId', 'componentName', 'version', 'changes', 'riskIndicators']));
    // The requester is the authenticated caller; a body may name it, but need not.
    expect(submission.required).not.toContain('requester');
  });

  it('gives every success response a named schema, with the fields intake answers (the integration tests parse real answers with them)', () => {
    for (const { route, operation } of operations) {
      for (const [status, response] of Object.entries(operation.responses as Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>)) {
        // An event stream has no JSON body to name (its events' data is RequestStoryEvent).
        if (status.startsWith('2') && status !== '204' && !response.content?.['text/event-stream']) expect({ route, status, schema: response.content?.['application/json']?.schema.$ref }).toEqual({ route, status, schema: expect.stringMatching(/^#\/components\/schemas\//) });
      }
    }
    const view = document.components.schemas['DeploymentRequestView'] as { required?: string[]; additionalProperties?: boolean };
    expect(view.required).toEqual(expect.arrayContaining(['id', 'status', 'riskAssessment', 'triggers', 'tierLevel', 'assignments', 'reviews', 'compliance', 'decision']));
    expect(view.additionalProperties).toBe(false);
    const decision = document.components.schemas['DecisionMade'] as { required?: string[] };
    expect(decision.required).toEqual(expect.arrayContaining(['requestId', 'outcome', 'approved', 'tierLevel', 'confidenceScore', 'conditions', 'monitoringRequirements', 'rollbackPlan', 'decisionRationale', 'expertReviews', 'decidedAt']));
  });
});
