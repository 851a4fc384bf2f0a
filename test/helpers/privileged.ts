// Tests that need root (the bpf syscall, namespaces, bpffs). Without root they are registered as
// skipped, with the reason printed once per file; CI runs as root, so nothing is skipped there.
import test, { type ExecutionContext } from 'ava';

export type Impl = (t: ExecutionContext) => void | Promise<void>;

export const isRoot = process.getuid?.() === 0;

let told = false;
function tell(): void {
  if (told) return;
  told = true;
  process.stderr.write(`# skipping the privileged tests of ${test.meta.file}: they need root (uid 0)\n`);
}

function register(run: (title: string, impl: Impl) => void, skip: (title: string, impl: Impl) => void) {
  return (title: string, impl: Impl): void => {
    if (isRoot) run(title, impl);
    else {
      tell();
      skip(title, impl);
    }
  };
}

/** `privileged('title', t => ...)`: an ava test that runs only as root. */
export const privileged = Object.assign(register(test, test.skip), {
  serial: register(test.serial, test.serial.skip),
  /** A before hook that only runs as root (its tests are skipped otherwise). */
  before(impl: Impl): void {
    if (isRoot) test.before(impl);
  },
  afterAlways(impl: Impl): void {
    if (isRoot) test.after.always(impl);
  },
});
