import { CLASSIFIED_SCHEMAS, DATA_CLASSIFICATION, unclassifiedFields } from '@agf/compliance-domain';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

/**
 * Compares the classification map with the columns the database actually has (the catalogue only, never a
 * row of another service): a column added without a class shows up as unclassified.
 */
export async function classificationCoverage(m: Queryable): Promise<{ classified: number; unclassified: string[] }> {
  const columns: Array<{ schema: string; table: string; column: string }> = await m.query(
    `SELECT c."table_schema" AS "schema", c."table_name" AS "table", c."column_name" AS "column"
       FROM "information_schema"."columns" c JOIN "information_schema"."tables" t ON t."table_schema" = c."table_schema" AND t."table_name" = c."table_name"
      WHERE c."table_schema" = ANY($1::text[]) AND t."table_type" = 'BASE TABLE' ORDER BY 1, 2, 3`,
    [CLASSIFIED_SCHEMAS],
  );
  return { classified: DATA_CLASSIFICATION.length, unclassified: unclassifiedFields(columns) };
}
