import { Inject, Injectable } from '@nestjs/common';
import { boundExperts, canReadProject, hasRole, type Principal } from '@agf/access-domain';
import { ExpertRegistryReplica, POLICY } from '@agf/platform';
import { type GovernancePolicy, registeredExperts } from '@agf/policy';
import type { EntityManager } from 'typeorm';
import { type AssignmentRow, RequestViewRepository } from './request-view.repository';

/**
 * Who may see a request: whoever may read its project (its submitters, auditors), and a reviewer bound to an
 * expert assigned to it. Everyone else is told it does not exist, in the words used for an unknown id.
 */
@Injectable()
export class RequestVisibility {
  constructor(
    @Inject(POLICY) private readonly policy: GovernancePolicy,
    private readonly repository: RequestViewRepository,
    private readonly registry: ExpertRegistryReplica,
  ) {}

  /**
   * The ids of the experts this principal may answer for: as coe's registry announced them (so an expert added
   * or changed through its API counts without a restart), else as agf-config.yaml binds them (coe seeds the
   * registry from it, but may not have announced it yet).
   */
  expertsOf(principal: Principal): Set<string> {
    if (!hasRole(principal, 'reviewer')) return new Set();
    const configured = registeredExperts(this.policy).filter((expert) => !this.registry.announced(expert.id));
    return new Set([...this.registry.boundTo(principal.subject), ...boundExperts(principal, configured).map((expert) => expert.id)]);
  }

  /** `assignments` when the caller has them at hand; otherwise they are read only if the project does not decide. */
  async canSee(principal: Principal, request: { id: string; project_id: string }, manager?: EntityManager, assignments?: AssignmentRow[]): Promise<boolean> {
    if (canReadProject(principal, request.project_id)) return true;
    const experts = this.expertsOf(principal);
    if (!experts.size) return false;
    return (assignments ?? (await this.repository.findAssignments(request.id, manager))).some((a) => experts.has(a.expert_id));
  }
}

export const notFoundDetail = (id: string): string => `no deployment request ${id}`;
