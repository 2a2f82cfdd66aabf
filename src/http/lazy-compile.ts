/**
 * Start-up is a feature (first healthz answer in < 200 ms), and compiling every route's validator and
 * serializer at boot costs ~70 ms. Compilers here return thin wrappers that compile on first use; right
 * after the server listens, `warmUp()` compiles everything still pending in small slices of idle time, so
 * a broken schema still surfaces within moments of start and no request pays more than one compile.
 */
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

const pending = new Set<() => void>();

/** A function that builds its real implementation on first call (or at warm-up). */
function deferred<F extends (...args: never[]) => unknown>(build: () => F, onBuilt?: (fn: F) => void): { call: F; force: () => F } {
  let built: F | undefined;
  const force = () => {
    if (!built) {
      built = build();
      pending.delete(force);
      onBuilt?.(built);
    }
    return built;
  };
  pending.add(force);
  const call = ((...args: never[]) => force()(...args)) as F;
  return { call, force };
}

type Validate = ((data: unknown) => boolean) & { errors?: unknown };

/** Wraps a validator compiler so each validator is compiled when first needed. */
export function lazyValidator(compile: () => Validate): Validate {
  const wrapper = ((data: unknown) => {
    const validate = lazy.force();
    const ok = validate(data);
    wrapper.errors = validate.errors;
    return ok;
  }) as Validate;
  const lazy = deferred<Validate>(compile);
  return wrapper;
}

type SerializerFactory = ReturnType<typeof SerializerSelector>;

/** Fastify's default serializer factory (fast-json-stringify), compiling each route's serializer lazily. */
export const lazySerializerFactory: SerializerFactory = (externalSchemas: unknown, options: unknown) => {
  const compilerFor = (SerializerSelector() as unknown as (e: unknown, o: unknown) => (route: unknown) => (data: unknown) => string)(externalSchemas, options);
  return (route: unknown) => deferred(() => compilerFor(route)).call;
};

/** Compiles what is still pending, a slice at a time, without holding the event loop for long. */
export function warmUp(onError: (error: unknown) => void): void {
  const step = () => {
    const started = Date.now();
    for (const force of pending) {
      try {
        force();
      } catch (error) {
        pending.delete(force);
        onError(error);
      }
      if (Date.now() - started > 5) break;
    }
    if (pending.size > 0) setImmediate(step);
  };
  setImmediate(step);
}
