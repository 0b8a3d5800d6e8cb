export * from './change-classification';
export * from './analyzers';
export * from './assess';
export * from './defect-model';
