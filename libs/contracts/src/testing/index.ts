import { randomUUID } from 'node:crypto';
import type { DeploymentRequest, DeploymentRequestInput } from '../deployment-request';

/** A valid submission with defaults; override what the test is about. */
export function aDeploymentRequestInput(overrides: Partial<DeploymentRequestInput> = {}): DeploymentRequestInput {
  return {
    projectId: 'payments-api',
    componentName: 'checkout',
    version: '1.4.2',
    changes: ['src/checkout/cart.ts'],
    riskIndicators: { codeChanges: 40, filesChanged: 3, testsPassed: true, userImpact: 'low' },
    requester: 'ci-bot',
    ...overrides,
  };
}

/** A stored request as downstream services receive it. */
export function aDeploymentRequest(overrides: Partial<DeploymentRequest> = {}): DeploymentRequest {
  const now = new Date().toISOString();
  return {
    ...aDeploymentRequestInput(),
    requestId: randomUUID(),
    timestamp: now,
    metadata: {},
    receivedAt: now,
    receivedVia: 'http',
    ...overrides,
  };
}
