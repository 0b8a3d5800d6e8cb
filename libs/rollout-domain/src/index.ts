export * from './criteria';
export * from './signals';
export * from './evaluate';
export * from './lifecycle';
