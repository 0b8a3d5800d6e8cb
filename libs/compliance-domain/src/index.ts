export * from './audit-chain';
export * from './evaluate';
export * from './audit-checkpoint';
export * from './evidence';
export * from './data-classification';
export * from './personal-data';
export * from './row-retention';
