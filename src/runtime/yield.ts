/**
 * Lets the event loop run what is waiting (I/O, timers, consensus) before continuing: long
 * work that can be split (decoding thousands of rows) awaits this between slices.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
