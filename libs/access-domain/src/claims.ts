import { Role } from '@agf/contracts';
import type { Principal } from './principal';

export interface ClaimMapping {
  roles_claim: string;
  projects_claim: string;
  groups_claim: string;
  group_roles: Record<string, readonly Role[]>;
}

const KNOWN_ROLES = new Set<string>(Role.options);

function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/**
 * A verified token's claims as an AGF principal: roles from the roles claim plus those its groups map to
 * (unknown role names are ignored, never guessed), projects from the projects claim.
 * Returns undefined when the token names no subject.
 */
export function principalFromClaims(claims: Record<string, unknown>, issuer: string, mapping: ClaimMapping): Principal | undefined {
  const subject = claims['sub'];
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 256) return undefined;
  const roles = new Set<Role>();
  for (const role of stringsOf(claims[mapping.roles_claim])) if (KNOWN_ROLES.has(role)) roles.add(role as Role);
  for (const group of stringsOf(claims[mapping.groups_claim])) {
    for (const role of mapping.group_roles[group] ?? []) roles.add(role);
  }
  return { subject, issuer, roles: [...roles], projects: stringsOf(claims[mapping.projects_claim]) };
}
