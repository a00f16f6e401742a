// What Lambda would bill besides the AWS requests: each invocation, its duration rounded up to the next
// millisecond (Lambda's billing granularity), and the bytes its logs send to CloudWatch.

export interface FunctionUse {
  invocations: number;
  /** Sum of each invocation's duration, each rounded up to the next ms. */
  billedMs: number;
}

/** Wraps handlers to time each invocation, as Lambda's REPORT line does, until frozen. */
export class InvocationMeter {
  private readonly use = new Map<string, FunctionUse>();
  private readonly batches = new Map<string, Map<number, number>>();
  private frozen = false;

  public wrap<Args extends unknown[], Result>(name: string, handler: (...args: Args) => Promise<Result>): (...args: Args) => Promise<Result> {
    return async (...args: Args) => {
      const records = (args[0] as { Records?: unknown[] } | undefined)?.Records;
      if (Array.isArray(records) && !this.frozen) {
        const sizes = this.batches.get(name) ?? new Map<number, number>();
        sizes.set(records.length, (sizes.get(records.length) ?? 0) + 1);
        this.batches.set(name, sizes);
      }
      const started = performance.now();
      try {
        return await handler(...args);
      } finally {
        if (!this.frozen) {
          const entry = this.use.get(name) ?? { invocations: 0, billedMs: 0 };
          entry.invocations++;
          entry.billedMs += Math.ceil(performance.now() - started);
          this.use.set(name, entry);
        }
      }
    };
  }

  public freeze(): void {
    this.frozen = true;
  }

  /** How many invocations of an SQS-driven function were handed how many records, by size. */
  public batchSizes(name: string): Record<string, number> {
    return Object.fromEntries([...(this.batches.get(name) ?? [])].sort(([a], [b]) => b - a).map(([size, n]) => [String(size), n]));
  }

  public snapshot(): Record<string, FunctionUse> {
    return Object.fromEntries([...this.use].map(([name, use]) => [name, { ...use }]));
  }
}

/**
 * Counts (and swallows) what the process writes to stdout: on Lambda, Powertools' Logger writes its JSON
 * lines there and CloudWatch Logs ingests them. Progress goes to stderr, so it is not counted.
 */
export const captureStdout = (): { bytes(): number; restore(): void } => {
  const original = process.stdout.write;
  let bytes = 0;
  let counting = true;
  process.stdout.write = ((chunk: string | Uint8Array, encodingOrCallback?: unknown, callback?: unknown) => {
    if (counting) bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    if (typeof done === 'function') (done as () => void)();
    return true;
  }) as typeof process.stdout.write;
  return {
    bytes: () => bytes,
    restore: () => {
      counting = false;
      process.stdout.write = original;
    },
  };
};
