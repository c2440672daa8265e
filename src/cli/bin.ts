#!/usr/bin/env node
/**
 * The `offline-tokens` executable: checks the Node version before loading anything else, so an old
 * Node gets a sentence instead of a syntax or module error.
 * @module
 */
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`offline-tokens: Node ${process.versions.node} is too old: install Node 22.18 or newer (https://nodejs.org)\n`);
  process.exit(1);
}
const { main } = await import('./main.ts');
const code = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
});
process.exitCode = code;
