/** The requester of every bench request: AGF takes it from the credential, whose subject it must be. */
export const BENCH_REQUESTER = 'bench-pipeline';

export function benchRequestBody(i: number): string {
  // A low-risk change touching authentication code: SECURITY_CHANGE fires, the tier is 0, and the built-in
  // automated validators decide at once (the automated path, no human in it).
  return JSON.stringify({
    projectId: 'bench-project',
    componentName: 'login-service',
    version: `1.0.${i}`,
    changes: ['src/auth/login-form.ts'],
    requester: BENCH_REQUESTER,
    riskIndicators: { codeChanges: 12, filesChanged: 1, testsPassed: true, userImpact: 'low', vulnerabilities: {}, securitySensitive: false, affectedProjects: [], touchesPersonalData: false },
  });
}
