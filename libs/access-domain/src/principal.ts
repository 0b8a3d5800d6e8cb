import type { Actor, Channel, Role } from '@agf/contracts';

/** A verified caller: who it is, who vouched for it, what it may do and for which projects. */
export interface Principal {
  subject: string;
  /** The OIDC issuer that signed its token; absent for an API key. */
  issuer?: string;
  /** The AGF API key it used; absent for a token. */
  apiKeyId?: string;
  roles: readonly Role[];
  /** Project ids, or `*` for all. */
  projects: readonly string[];
}

export const ALL_PROJECTS = '*';

export function hasRole(principal: Principal, ...roles: Role[]): boolean {
  return roles.some((role) => principal.roles.includes(role));
}

/** Whether the principal's project scope covers a project (not whether it holds a role there). */
export function coversProject(principal: Principal, projectId: string): boolean {
  return principal.projects.includes(ALL_PROJECTS) || principal.projects.includes(projectId);
}

/**
 * Whether the principal may read a project's requests, decisions, history and assessments: auditors read
 * everything; submitters read their own projects. Reviewers see only what is assigned to them (`boundExperts`).
 */
export function canReadProject(principal: Principal, projectId: string): boolean {
  return hasRole(principal, 'auditor') || (hasRole(principal, 'submitter') && coversProject(principal, projectId));
}

/** Whether the principal may submit for, or report the outcome of, a project's deployments. */
export function canSubmitFor(principal: Principal, projectId: string): boolean {
  return hasRole(principal, 'submitter') && coversProject(principal, projectId);
}

/** The projects a principal may read, or `all`: a query over many projects is narrowed to these. */
export function readableProjects(principal: Principal): 'all' | string[] {
  if (hasRole(principal, 'auditor')) return 'all';
  if (!hasRole(principal, 'submitter')) return [];
  return principal.projects.includes(ALL_PROJECTS) ? 'all' : [...principal.projects];
}

/** The experts a principal may answer for: those whose `principal` list names its subject, if it is a reviewer. */
export function boundExperts<E extends { id: string; principal: readonly string[] }>(principal: Principal, experts: readonly E[]): E[] {
  if (!hasRole(principal, 'reviewer')) return [];
  return experts.filter((expert) => expert.principal.includes(principal.subject));
}

/** The principal as events carry it to the audit trail. */
export function actorOf(principal: Principal, channel: Channel): Actor {
  return {
    subject: principal.subject,
    ...(principal.issuer ? { issuer: principal.issuer } : {}),
    ...(principal.apiKeyId ? { apiKeyId: principal.apiKeyId } : {}),
    channel,
  };
}
