/**
 * A game server started by ggscale's local backend leads its own process group, so it does not die with a
 * ggscale that is killed outright. GGSCALE_PARENT_PID names the ggscale that started it: once that is no
 * longer our parent (we were re-parented), nobody will release us, so we stop.
 */
export function watchParent(env: NodeJS.ProcessEnv, onOrphaned: () => void, intervalMs = 1000): () => void {
  const parent = Number(env.GGSCALE_PARENT_PID);
  if (!Number.isInteger(parent) || parent <= 0) return () => undefined;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onOrphaned();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
