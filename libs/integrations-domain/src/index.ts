export * from './signatures';
export * from './webhooks';
export * from './verdicts';
