export * from './calibration';
export * from './dataset';
export * from './evaluate';
export * from './features';
export * from './gbdt';
export * from './logistic';
export * from './metrics';
export * from './train';
