export * from './test-database';
export * from './test-nats';
export * from './service-process';
export * from './eventually';
export * from './own-servers';
export * from './test-identity';
export * from './test-certificates';
