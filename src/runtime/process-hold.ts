// Clock timers are unref'd (they never keep a stopping process alive). Start-up waits that
// happen before anything listens — auto_encrypt retrying its servers — would then let Node
// exit mid-await; a hold keeps the process running until released.

/** Keeps the process alive until the returned function is called. */
export function holdProcessOpen(): () => void {
  const timer = setInterval(() => {}, 1 << 30);
  return () => clearInterval(timer);
}
