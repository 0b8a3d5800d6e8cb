import { SetMetadata } from '@nestjs/common';

/**
 * What `@ApiExcludeController()` of @nestjs/swagger records (intake's OpenAPI document leaves such a
 * controller out), without loading @nestjs/swagger: only intake serves a document, and the package costs
 * every other service ~4 MB of heap.
 */
export const ExcludedFromOpenApi = (): ClassDecorator => SetMetadata('swagger/apiExcludeController', [true]);
