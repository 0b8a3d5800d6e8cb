export * from './population';
export * from './rule-packs';
export * from './report';
