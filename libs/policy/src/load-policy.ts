import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { GovernancePolicy } from './policy';

export class PolicyError extends Error {
  override name = 'PolicyError';
}

/** Parses and validates `agf-config.yaml` text; every error names the key and what was expected. */
export function parsePolicy(yamlText: string, origin = 'agf-config.yaml'): GovernancePolicy {
  let raw: unknown;
  try {
    raw = parse(yamlText);
  } catch (error) {
    throw new PolicyError(`${origin}: not valid YAML: ${(error as Error).message}`);
  }
  const result = GovernancePolicy.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new PolicyError(`${origin} is invalid:\n${lines.join('\n')}`);
  }
  const duplicates = findDuplicateExpertIds(result.data);
  if (duplicates.length) throw new PolicyError(`${origin} is invalid:\n  experts: duplicate expert id ${duplicates.join(', ')}`);
  return result.data;
}

export function loadPolicyFile(path: string): GovernancePolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PolicyError(`AGF_CONFIG: cannot read ${path}: ${(error as Error).message}`);
  }
  return parsePolicy(text, path);
}

function findDuplicateExpertIds(policy: GovernancePolicy): string[] {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const experts of Object.values(policy.experts)) {
    for (const expert of experts ?? []) {
      if (seen.has(expert.id)) duplicates.add(expert.id);
      seen.add(expert.id);
    }
  }
  return [...duplicates];
}
