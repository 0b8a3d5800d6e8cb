import { Controller } from '@nestjs/common';
import type { CloudEvent } from '@agf/contracts';
import { MessageContext, OnMessage } from '@agf/messaging';

/** Follows the modes admins set through CoE's API; a change older than the one stored (redelivered, reordered) changes nothing. */
@Controller()
export class ProjectModesMessageController {
  @OnMessage('registry.project.mode_changed')
  async modeChanged(event: CloudEvent<'registry.project.mode_changed'>, ctx: MessageContext): Promise<void> {
    const { projectId, mode, changedAt } = event.data;
    await ctx.manager.query(
      `INSERT INTO "integrations"."project_modes" ("project_id", "mode", "changed_at") VALUES ($1, $2, $3)
       ON CONFLICT ("project_id") DO UPDATE SET "mode" = EXCLUDED."mode", "changed_at" = EXCLUDED."changed_at"
        WHERE "project_modes"."changed_at" < EXCLUDED."changed_at"`,
      [projectId, mode, changedAt],
    );
  }
}

/** The mode an admin set through the API, if any. */
export async function projectModeSetByApi(db: Pick<MessageContext['manager'], 'query'>, projectId: string): Promise<'enforce' | 'shadow' | undefined> {
  const [row] = (await db.query(`SELECT "mode" FROM "integrations"."project_modes" WHERE "project_id" = $1`, [projectId])) as Array<{ mode: 'enforce' | 'shadow' }>;
  return row?.mode;
}
