// A clock for tests: time moves only when the test moves it, so no test sleeps or depends on the machine's speed.
import type { Clock } from '../../shared/clock';

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  private current: number;

  public constructor(start: Date | string) {
    this.current = new Date(start).getTime();
  }

  public now(): Date {
    return new Date(this.current);
  }

  public advanceSeconds(seconds: number): void {
    this.current += seconds * 1000;
  }

  public set(to: Date | string): void {
    this.current = new Date(to).getTime();
  }
}

