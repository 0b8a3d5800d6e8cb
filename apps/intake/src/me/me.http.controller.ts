import { Controller, Get } from '@nestjs/common';
import type { Principal } from '@agf/access-domain';
import { Role } from '@agf/contracts';
import { CurrentPrincipal, Roles } from '@agf/platform';
import { RequestVisibility } from '../requests/request-visibility';

/**
 * `GET /v1/me`: who the credential says the caller is, and the experts they answer for. The console asks it
 * when someone signs in, to show them the pages their roles open; the API still decides every call itself.
 */
@Controller('v1/me')
@Roles(...Role.options)
export class MeHttpController {
  constructor(private readonly visibility: RequestVisibility) {}

  @Get()
  me(@CurrentPrincipal() principal: Principal) {
    return {
      subject: principal.subject,
      ...(principal.issuer ? { issuer: principal.issuer } : {}),
      ...(principal.apiKeyId ? { apiKeyId: principal.apiKeyId } : {}),
      roles: [...principal.roles],
      projects: [...principal.projects],
      experts: [...this.visibility.expertsOf(principal)].sort(),
    };
  }
}
