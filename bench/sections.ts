/**
 * The benchmark sections, in the order they run. Add a section by writing a module that exports a
 * {@link Section} and listing it here.
 * @module
 */
import { cacheMiss } from './cache-miss.ts';
import { coldStart } from './cold-start.ts';
import { fleet } from './fleet.ts';
import { hotPath } from './hot-path.ts';
import { refreshCoalescing } from './refresh-coalescing.ts';
import { refreshOverhead } from './refresh-overhead.ts';
import { refreshStores } from './refresh-stores.ts';
import { refreshWindow } from './refresh-window.ts';
import { scale } from './scale.ts';
import type { Section } from './section.ts';

export const sections: readonly Section[] = [hotPath, cacheMiss, refreshCoalescing, refreshWindow, refreshOverhead, refreshStores, scale, fleet, coldStart];
