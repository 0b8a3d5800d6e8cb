/** Injection tokens for what every service module receives from the platform. */
export const NATS_CONNECTION = Symbol('NATS_CONNECTION');
export const NAMESPACE = Symbol('NAMESPACE');
export const POLICY = Symbol('POLICY');
export const INFRA_CONFIG = Symbol('INFRA_CONFIG');
