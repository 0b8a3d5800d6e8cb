export * from './policy';
export * from './load-policy';
export * from './projects-policy';
