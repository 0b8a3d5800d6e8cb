import { Controller, Get, Param, Req } from '@nestjs/common';
import type { Principal } from '@agf/access-domain';
import { AccessRefusals, CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { RequestViewRepository } from '../requests/request-view.repository';
import { notFoundDetail, RequestVisibility } from '../requests/request-visibility';
import { AttestationSigner } from './attestation-signer';
import { Attestations } from './attestations';

@Controller('v1')
export class AttestationsHttpController {
  constructor(
    private readonly repository: RequestViewRepository,
    private readonly visibility: RequestVisibility,
    private readonly refusals: AccessRefusals,
    private readonly attestations: Attestations,
    private readonly signer: AttestationSigner,
    private readonly dataSource: DataSource,
  ) {}

  /** The DSSE envelope of the request's signed decision; 404 until it is decided. */
  @Get('deployment-requests/:id/attestation')
  @Roles('submitter', 'auditor', 'reviewer')
  async attestation(@Param('id') id: string, @Req() req: Request, @CurrentPrincipal() principal: Principal) {
    const row = await this.repository.findDecision(id);
    if (!row) throw new ProblemError(404, 'not-found', 'Not Found', notFoundDetail(id));
    if (!(await this.visibility.canSee(principal, { id, project_id: row.project_id }))) throw this.refusals.refuseHttp(req, 'not-visible', notFoundDetail(id));
    const envelope = await this.attestations.find(this.dataSource, id);
    if (!envelope) throw new ProblemError(404, 'not-decided', 'Not Found', `deployment request ${id} has no attestation yet: it is ${row.status}`);
    return envelope;
  }

  /** The public keys attestations are signed with: the current one and those rotated out (still trusted for old ones). */
  @Get('attestation-keys')
  @Roles('submitter', 'auditor', 'reviewer', 'admin')
  keys() {
    return { keys: this.signer.publicKeys };
  }
}
