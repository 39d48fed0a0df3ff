/** Resources register their close the moment they are created; closing drains in reverse, once. */
export class Teardown {
  private readonly steps: Array<{ name: string; close: () => Promise<void> | void }> = [];
  private closing: Promise<Array<{ name: string; error: unknown }>> | undefined;

  add(name: string, close: () => Promise<void> | void): void {
    this.steps.push({ name, close });
  }

  close(timeoutMs = 10_000): Promise<Array<{ name: string; error: unknown }>> {
    this.closing ??= this.drain(timeoutMs);
    return this.closing;
  }

  private async drain(timeoutMs: number): Promise<Array<{ name: string; error: unknown }>> {
    const failures: Array<{ name: string; error: unknown }> = [];
    const deadline = Date.now() + timeoutMs;
    for (const step of [...this.steps].reverse()) {
      const remaining = Math.max(0, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve(step.close()),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`${step.name} did not close in time`)), remaining);
          }),
        ]);
      } catch (error) {
        failures.push({ name: step.name, error });
      } finally {
        clearTimeout(timer);
      }
    }
    return failures;
  }
}
