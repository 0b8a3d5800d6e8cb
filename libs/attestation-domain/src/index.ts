export * from './statement';
export * from './dsse';
