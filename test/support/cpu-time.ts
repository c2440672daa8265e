/**
 * CPU time of a running process and the children it has waited for, read from `/proc/<pid>/stat`
 * (Linux; `undefined` elsewhere or once the process is gone). `npm test` samples each test file's process
 * every second to print its CPU next to its wall time: on a shared, loaded machine wall time says
 * little, CPU time says what the file costs.
 *
 * @example
 * cpuSeconds(child.pid!); // 3.42 (user + system, its own and its waited-for children's)
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of `/proc` times: 100 on Linux (`getconf CLK_TCK`). */
const TICKS_PER_SECOND = 100;

export function cpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14–17 of the whole line (utime, stime, cutime, cstime) are 11–14 after the name.
  const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0);
  return Number.isFinite(ticks) ? ticks / TICKS_PER_SECOND : undefined;
}
