import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The repository's own agf-config.yaml (the PRD's format, every section annotated), as `agf init` writes it. */
export const ANNOTATED_CONFIG = readFileSync(join(__dirname, '..', '..', '..', '..', 'agf-config.yaml'), 'utf8');
