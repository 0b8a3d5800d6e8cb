export * from './principal';
export * from './claims';
export * from './api-key';
