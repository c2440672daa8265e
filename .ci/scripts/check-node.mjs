// Plain JavaScript on purpose: it must run on the old Node it warns about, before any .ts file is loaded.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`offline-tokens: Node ${process.versions.node} is too old for this repository: it runs its TypeScript sources directly, which needs Node 22.18 or newer (https://nodejs.org).`);
  process.exit(1);
}
