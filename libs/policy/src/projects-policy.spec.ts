import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicy } from './load-policy';
import { projectMode, repositoryProjects } from './projects-policy';

const shipped = readFileSync(join(__dirname, '..', '..', '..', 'agf-config.yaml'), 'utf8');

describe('projects: in agf-config.yaml', () => {
  it('is optional: every project is enforced by default', () => {
    const policy = parsePolicy(shipped);
    expect(projectMode(policy.projects, 'demo')).toBe('enforce');
    expect(repositoryProjects(policy.projects)).toEqual({});
  });

  it('sets a project to shadow mode and maps repositories to it', () => {
    const policy = parsePolicy(`${shipped}\nprojects:\n  demo:\n    mode: shadow\n    repositories: ["Octo-Org/Shop-API"]\n  billing: {}\n`);
    expect(projectMode(policy.projects, 'demo')).toBe('shadow');
    expect(projectMode(policy.projects, 'billing')).toBe('enforce');
    expect(repositoryProjects(policy.projects)).toEqual({ 'octo-org/shop-api': 'demo' });
  });

  it.each([
    ['an unknown mode', 'demo:\n    mode: dry-run', /projects\.demo\.mode: Invalid option/],
    ['an unknown key', 'demo:\n    moda: shadow', /projects\.demo: Unrecognized key: "moda"/],
    ['a bad project id', '"bad id":\n    mode: shadow', /projects\.bad id: Invalid key in record/],
    ['a repository that is not owner/repo', 'demo:\n    repositories: ["shop"]', /projects\.demo\.repositories\.0: expected owner\/repo/],
    ['a repository claimed twice', 'a:\n    repositories: ["o/r"]\n  b:\n    repositories: ["O/R"]', /projects\.b\.repositories: O\/R already belongs to project a/],
  ])('names the key and what was expected for %s', (_case, yaml, message) => {
    expect(() => parsePolicy(`${shipped}\nprojects:\n  ${yaml}\n`)).toThrow(message);
  });
});
