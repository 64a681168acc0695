// Containing a trap of the wasm module. Release builds abort on a Rust panic
// (`panic = "abort"`): the instance traps with `RuntimeError: unreachable` and
// its memory may hold half-done work, so it must not be used again. On a
// panic the module asks wasm-bindgen's glue for a fresh instance before the
// next call (`schedule_reinit`), and calls the listener set here first, with
// the message. This file turns that into what a server needs:
//
// - the call that trapped, and every call still in flight on the broken
//   instance (their Promises would never settle: a panic inside a task polled
//   from a microtask reaches no caller), answer at once: a request with a 503
//   `temporarily_unavailable` JSON response, any other method with an Error
//   whose `code` is "panic";
// - the package's objects (providers, storages) are wrappers that remember
//   how they were built and build their module object again on the fresh
//   instance, so the same provider object serves the next request.
//
// What a new instance loses is the old one's memory: an InMemoryStorage's
// grants and clients, caches, in-process rate-limit counts kept in the
// module. Host storage (Workers KV, Deno KV, Durable Objects, a KvStorage
// host) keeps everything; configured clients are stored again by
// `initialize()`, which the wrapper runs before the next call when the old
// object had been initialized.
import * as raw from '../dist/simply_mcp_oauth.js';

let instance = 0; // bumps each time the module instance is known broken
let armedFor = -1; // the instance the panic listener is set on
let panicMessage; // from the listener, for the RuntimeError that follows
const inFlight = new Set(); // (error) => void, one per call in flight

function panicError(message, cause) {
  const error = new Error(`simply-mcp-oauth panicked: ${message}`, cause ? { cause } : undefined);
  error.code = 'panic';
  return error;
}

function broke(error) {
  instance += 1;
  const calls = [...inFlight];
  inFlight.clear();
  for (const fail of calls) fail(error);
  // Replace the instance right after the trapping call returns, not at the
  // next request: until then, a host call still pending on it would resume
  // its half-done work there.
  queueMicrotask(() => {
    try {
      arm();
    } catch {
      // The next call arms it, or reports why it cannot.
    }
  });
}

function onPanic(message) {
  panicMessage = String(message);
  broke(panicError(panicMessage));
}

// Sets the listener on the current instance; the first call after a panic
// is also the one that makes the glue build the fresh instance.
function arm() {
  if (armedFor !== instance) {
    raw.onPanic(onPanic);
    armedFor = instance;
  }
}

/** `error` as callers should see it: a trap becomes an Error with code "panic". */
export function translate(error) {
  if (!(error instanceof WebAssembly.RuntimeError)) return error;
  const message = panicMessage ?? `the module trapped (${error.message})`;
  if (panicMessage === undefined) {
    // A trap without a panic (stack overflow, out of memory): no fresh
    // instance was asked for, so ask now if the glue allows it.
    broke(panicError(message, error));
    raw.__wbg_reset_state?.();
  }
  panicMessage = undefined;
  return panicError(message, error);
}

/** The module instance objects built now belong to. */
export function currentInstance() {
  return instance;
}

/**
 * Runs `call` (a call into the module) so that a trap cannot leave its
 * caller hanging: `answer(error)` (or, without it, the panic Error) settles
 * it when the instance breaks while it is in flight.
 */
export function contain(call, answer) {
  try {
    arm();
  } catch (error) {
    throw translate(error);
  }
  let result;
  try {
    result = call();
  } catch (error) {
    const translated = translate(error);
    if (answer && translated.code === 'panic') return answer(translated);
    throw translated;
  }
  if (!(result instanceof Promise)) return result;
  let fail;
  const broken = new Promise((resolve) => {
    fail = resolve;
  });
  inFlight.add(fail);
  const settled = result.then(
    (value) => {
      inFlight.delete(fail);
      return value;
    },
    (error) => {
      inFlight.delete(fail);
      throw translate(error);
    },
  );
  const onBroken = broken.then((error) => {
    if (answer) return answer(error);
    throw error;
  });
  return Promise.race([settled, onBroken]);
}

/** The answer to a request whose instance broke: retry, on a fresh one. */
export function unavailableResponse() {
  const body = {
    error: 'temporarily_unavailable',
    error_description: 'the server hit an internal error and restarted; retry the request',
  };
  return new Response(JSON.stringify(body), {
    status: 503,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'retry-after': '1' },
  });
}
