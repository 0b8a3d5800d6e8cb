export * from './api-key-replica';
export * from './authenticator';
export * from './access-refusals';
export * from './http-auth';
