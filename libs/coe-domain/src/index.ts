export * from './types';
export * from './triggers';
export * from './tier';
export * from './assignment';
export * from './validators';
export * from './confidence';
export * from './monitoring';
export * from './decision';
