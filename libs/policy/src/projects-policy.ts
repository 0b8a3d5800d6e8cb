import { z } from 'zod';
import { PROJECT_ID_PATTERN } from '@agf/contracts';
import { CompliancePacks } from './evidence-policy';

/** `enforce`: AGF's decision gates the pipeline. `shadow`: AGF decides as usual, but every gate lets the deployment through. */
export const ProjectMode = z.enum(['enforce', 'shadow']);
export type ProjectMode = z.infer<typeof ProjectMode>;

/** A repository as GitHub (`owner/repo`) or GitLab (`group/subgroup/project`) names it. */
const RepositoryName = z.string().regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/, 'expected owner/repo (GitHub) or group/project (GitLab)');

export const ProjectSettings = z.strictObject({
  mode: ProjectMode.default('enforce'),
  /** The repositories whose deployment webhooks become this project's requests (by default a repository maps to its own name). */
  repositories: z.array(RepositoryName).max(100).default([]),
  /** The compliance rule packs this project's evidence reports judge by (default: `compliance.packs`, else all). */
  compliance_packs: CompliancePacks.optional(),
});
export type ProjectSettings = z.infer<typeof ProjectSettings>;

/** `projects:` in agf-config.yaml (optional): per project settings; a project not listed is enforced. */
export const ProjectsPolicy = z
  .record(z.string().regex(PROJECT_ID_PATTERN, 'project ids must match [A-Za-z0-9_-]{1,128}'), ProjectSettings)
  .superRefine((projects, ctx) => {
    const owner = new Map<string, string>();
    for (const [projectId, settings] of Object.entries(projects)) {
      for (const repository of settings.repositories) {
        const known = owner.get(repository.toLowerCase());
        if (known) ctx.addIssue({ code: 'custom', path: [projectId, 'repositories'], message: `${repository} already belongs to project ${known}` });
        owner.set(repository.toLowerCase(), projectId);
      }
    }
  });
export type ProjectsPolicy = z.infer<typeof ProjectsPolicy>;

/** The mode a project runs in (enforce unless configured). */
export function projectMode(projects: ProjectsPolicy | undefined, projectId: string): ProjectMode {
  return projects?.[projectId]?.mode ?? 'enforce';
}

/** `owner/repo` (lower case) → project id, from every project's `repositories`. */
export function repositoryProjects(projects: ProjectsPolicy | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(projects ?? {}).flatMap(([projectId, settings]) => settings.repositories.map((repository) => [repository.toLowerCase(), projectId])));
}

/** The rule packs a project's evidence is judged by: its own, else `compliance.packs`, else undefined (all). */
export function compliancePacksOf(projects: ProjectsPolicy | undefined, defaults: readonly string[] | undefined, projectId: string | undefined): readonly string[] | undefined {
  return (projectId ? projects?.[projectId]?.compliance_packs : undefined) ?? defaults;
}
