export * from './audit-chain';
export * from './evaluate';
