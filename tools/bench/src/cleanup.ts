import { createTestDatabase, TestNats, type TestDatabase } from '@agf/testing';

/**
 * What a benchmark has to undo (its services, NATS streams and database), done once whether it ends, fails
 * or is interrupted: a bench runs for minutes against servers others share, and Ctrl-C used to leave its
 * database and streams behind.
 */
export class BenchCleanup {
  private readonly steps: Array<() => Promise<unknown>> = [];
  private running: Promise<void> | undefined;

  constructor(private readonly bench: string) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => this.interrupted(signal));
  }

  /** Adds a step that runs before those added earlier; the function returned runs it now instead (once). */
  add(step: () => Promise<unknown>): () => Promise<void> {
    this.steps.unshift(step);
    return async () => {
      const index = this.steps.indexOf(step);
      if (index < 0) return;
      this.steps.splice(index, 1);
      await this.attempt(step);
    };
  }

  /** Runs every step left, newest first; a step that fails is reported and the others still run. */
  run(): Promise<void> {
    this.running ??= (async () => {
      for (let step = this.steps.shift(); step; step = this.steps.shift()) await this.attempt(step);
    })();
    return this.running;
  }

  private async attempt(step: () => Promise<unknown>): Promise<void> {
    await step().catch((error: unknown) => console.error(`${this.bench}: cleanup: ${(error as Error).message}`));
  }

  private interrupted(signal: NodeJS.Signals): void {
    console.error(`${this.bench}: ${signal}: removing the bench's services, streams and database`);
    void this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  }
}

/** A bench's own database and NATS namespace, named on stdout and removed by its cleanup. */
export async function benchServers(bench: string): Promise<{ cleanup: BenchCleanup; db: TestDatabase; nats: TestNats }> {
  const cleanup = new BenchCleanup(bench);
  const db = await createTestDatabase();
  cleanup.add(() => db.drop());
  const nats = await TestNats.connect();
  cleanup.add(() => nats.cleanup());
  console.log(`database ${db.name}, NATS namespace ${nats.namespace.prefix} (removed when the bench ends or is interrupted)`);
  return { cleanup, db, nats };
}
