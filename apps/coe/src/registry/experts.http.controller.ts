import { Controller, Get } from '@nestjs/common';
import { Roles } from '@agf/platform';
import { DataSource } from 'typeorm';

/** The expert registry with current load: who reviews what, and how busy they are. */
@Controller('v1/experts')
@Roles('admin', 'auditor')
export class ExpertsHttpController {
  constructor(private readonly dataSource: DataSource) {}

  @Get()
  async list() {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT "id", "expert_type", "kind", "level", "runtime", "specialties", "capacity", "open_reviews", "active" FROM "coe"."experts" ORDER BY "expert_type", "id"`,
    );
    return {
      experts: rows.map((r) => ({
        id: r['id'],
        expertType: r['expert_type'],
        kind: r['kind'],
        level: r['level'],
        runtime: r['runtime'],
        specialties: r['specialties'],
        capacity: r['capacity'],
        openReviews: r['open_reviews'],
        active: r['active'],
      })),
    };
  }
}
