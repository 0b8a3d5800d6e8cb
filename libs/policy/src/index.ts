export * from './policy';
export * from './load-policy';
