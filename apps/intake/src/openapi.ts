import { DeploymentRequestInput, OutcomeReportInput, ReviewSubmissionInput } from '@agf/contracts';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { z } from 'zod';

/** OpenAPI at `/docs` (UI) and `/docs-json`; request bodies come from the same zod schemas that validate them. */
export function serveOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('AGF intake API')
    .setDescription('Submit deployment requests, follow them to a governance decision, answer reviews and report outcomes. Errors are application/problem+json.')
    .setVersion('1')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.components ??= {};
  document.components.schemas = {
    ...document.components.schemas,
    DeploymentRequestInput: z.toJSONSchema(DeploymentRequestInput, { target: 'openapi-3.0' }) as object,
    ReviewSubmissionInput: z.toJSONSchema(ReviewSubmissionInput, { target: 'openapi-3.0' }) as object,
    OutcomeReportInput: z.toJSONSchema(OutcomeReportInput, { target: 'openapi-3.0' }) as object,
  };
  SwaggerModule.setup('docs', app, document);
}
