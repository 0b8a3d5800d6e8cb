export default async function globalTeardown(): Promise<void> {
  const containers = (globalThis as { agfContainers?: Array<{ stop(): Promise<unknown> }> }).agfContainers ?? [];
  await Promise.all(containers.map((c) => c.stop()));
}
