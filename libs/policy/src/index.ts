export * from './policy';
export * from './load-policy';
export * from './notifications-policy';
export * from './projects-policy';
export * from './rollout-policy';
export * from './evidence-policy';
