export * from './client';
export * from './sse';
