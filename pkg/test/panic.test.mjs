// A Rust panic reaches JS as an Error with the panic's message, not as an
// opaque `RuntimeError: unreachable`. Its own file (process): after a panic
// the module instance is not reused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { __panicForTests } from '../src/node.js';

test('a panic becomes an Error with its message and code "panic"', () => {
  assert.throws(() => __panicForTests('the storage invariant broke'), (error) => {
    assert.ok(!(error instanceof WebAssembly.RuntimeError), 'not the raw trap');
    assert.match(error.message, /simply-mcp-oauth panicked: [\s\S]*the storage invariant broke/);
    assert.equal(error.code, 'panic');
    assert.ok(error.cause instanceof WebAssembly.RuntimeError, 'the trap is kept as the cause');
    return true;
  });
});
