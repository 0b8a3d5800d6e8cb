export * from './change-classification';
