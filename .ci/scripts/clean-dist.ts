/** Before a build: removes `dist/`, so no file of a deleted source is packed. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';

rmSync(join(import.meta.dirname, '..', '..', 'dist'), { recursive: true, force: true });
