export * from './expert-registry-replica';
