export * from './primitives';
export * from './deployment-request';
export * from './events/schemas';
export * from './streams';
export * from './catalog';
export * from './envelope';
export * from './unsafe-input';
export * from './publish/published-documents';
