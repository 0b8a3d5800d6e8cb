/** Security-relevant areas a change can touch; SECURITY_CHANGE fires on any of them. */
export type SecurityArea = 'authentication' | 'authorization' | 'crypto' | 'secrets' | 'dependencies';

export interface SecurityChangeMatch {
  area: SecurityArea;
  change: string;
}

// Matched against each change description or path, case-insensitively. Word-ish boundaries keep
// "author.md" or "keyboard" from counting as authorization or key material.
const AREA_PATTERNS: ReadonlyArray<[SecurityArea, RegExp]> = [
  ['authentication', /\b(auth(n|entication)?|login|logout|sign[-_ ]?in|password|passwd|mfa|2fa|otp|oauth2?|oidc|saml|sso|session|jwt|token)s?\b/i],
  ['authorization', /\b(authz|authori[sz]ation|rbac|abac|acl|permissions?|roles?|policy|policies|access[-_ ]?control|grants?)\b/i],
  ['crypto', /\b(crypto|cryptography|encrypt(ion)?|decrypt(ion)?|cipher|tls|ssl|x509|certificates?|certs?|hash(ing)?|hmac|signing|signature|kms|pki)\b/i],
  ['secrets', /\b(secrets?|credentials?|api[-_ ]?keys?|private[-_ ]?keys?|vault|\.env|keystore|\.pem|\.key)\b/i],
  ['dependencies', /(\b(package(-lock)?\.json|yarn\.lock|pnpm-lock\.yaml|go\.(mod|sum)|requirements\.txt|poetry\.lock|Gemfile(\.lock)?|pom\.xml|build\.gradle|Cargo\.(toml|lock))\b|\b(dependenc(y|ies)|cve-\d{4}-\d+|vulnerab(le|ility))\b)/i],
];

/** Which security-relevant areas each change touches (a change may touch several). */
export function classifySecurityChanges(changes: readonly string[]): SecurityChangeMatch[] {
  const matches: SecurityChangeMatch[] = [];
  for (const change of changes) {
    for (const [area, pattern] of AREA_PATTERNS) {
      if (pattern.test(change)) matches.push({ area, change });
    }
  }
  return matches;
}

/** Heuristic for secrets committed in the change list itself (a leaked key pasted into a description or path). */
const SECRET_VALUE_PATTERNS: ReadonlyArray<[string, RegExp]> = [
  ['AWS access key id', /\bAKIA[0-9A-Z]{16}\b/],
  ['private key block', /-----BEGIN (RSA |EC |OPENSSH |)PRIVATE KEY-----/],
  ['GitHub token', /\bgh[pousr]_[A-Za-z0-9]{36,}\b/],
  ['Slack token', /\bxox[abprs]-[A-Za-z0-9-]{10,}\b/],
  ['password assignment', /\b(password|passwd|secret)\s*[:=]\s*['"][^'"\s]{6,}['"]/i],
];

export interface DetectedSecret {
  kind: string;
  change: string;
}

export function detectSecrets(changes: readonly string[]): DetectedSecret[] {
  const found: DetectedSecret[] = [];
  for (const change of changes) {
    for (const [kind, pattern] of SECRET_VALUE_PATTERNS) {
      if (pattern.test(change)) found.push({ kind, change: change.slice(0, 120) });
    }
  }
  return found;
}
