// EventBridge's schedule, on one machine: the sweep every `sweep.intervalSeconds`.

/** Runs `task` every `intervalSeconds`, never two at once: EventBridge's schedule for the sweep, on one machine. */
export const startSchedule = (task: () => Promise<unknown>, intervalSeconds: number, onError?: (error: unknown) => void): { stop(): Promise<void> } => {
  let running: Promise<unknown> | undefined;
  const tick = () => {
    if (running) return;
    running = task()
      .catch((error: unknown) => onError?.(error))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, intervalSeconds * 1000);
  tick();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
};
