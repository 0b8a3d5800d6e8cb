export * from './notices';
export * from './routing';
export * from './payloads';
export * from './backoff';
export * from './signature';
export * from './addresses';
