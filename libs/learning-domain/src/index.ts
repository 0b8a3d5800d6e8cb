export * from './features';
export * from './history';
