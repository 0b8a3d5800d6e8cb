export * from './audit-chain';
export * from './evaluate';
export * from './audit-checkpoint';
