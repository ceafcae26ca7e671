/**
 * Last line of defence for a test worker that ends without calling stop(): on 'exit' and on
 * SIGINT/SIGTERM, tear down every live instance synchronously (the 'exit' event allows no async
 * work). A SIGKILLed worker cannot run anything: then setpriv's parent-death signal takes the server
 * processes down and cleanup.ts removes the namespaces later.
 */
type Teardown = () => void;

const live = new Set<Teardown>();
let installed = false;

function runAll(): void {
  for (const t of [...live]) {
    live.delete(t);
    try {
      t();
    } catch {
      // keep going: the remaining instances still need removing
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  runAll();
  process.removeListener(sig, onSignal);
  // Re-raise so the default action (or other listeners' choice) still happens.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Registers a synchronous teardown; call the returned function once the instance is stopped. */
export function protect(teardown: Teardown): () => void {
  install();
  live.add(teardown);
  return () => {
    live.delete(teardown);
  };
}

export function protectedCount(): number {
  return live.size;
}
