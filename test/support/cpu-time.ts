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

/**
 * CPU time of this process's children that have ended and been waited for (with theirs), from
 * `/proc/self/stat` (`undefined` where there is none). Read when a child has just been waited for, the
 * increase since the last reading is what that child cost in all — including its own children that
 * lived to its end, which a sample of the running child never sees.
 * @example
 * const before = reapedChildrenCpuSeconds(); child.on('exit', () => reapedChildrenCpuSeconds()! - before!);
 */
export function reapedChildrenCpuSeconds(): number | undefined {
  // cutime and cstime: fields 16–17 of the whole line.
  return statSeconds('/proc/self/stat', [13, 14]);
}

/** CPU time of a running process `pid` and the children it has waited for (`undefined` once it is gone). */
export function cpuSeconds(pid: number): number | undefined {
  // utime, stime, cutime and cstime: fields 14–17 of the whole line.
  return statSeconds(`/proc/${pid}/stat`, [11, 12, 13, 14]);
}

/** Clock ticks per second of `/proc` times: 100 on Linux (`getconf CLK_TCK`). */
const TICKS_PER_SECOND = 100;

/** The sum, in seconds, of the fields at `indexes` (counted after the command name) of a `/proc/<pid>/stat` file. */
function statSeconds(path: string, indexes: readonly number[]): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = indexes.reduce((sum, index) => sum + Number(fields[index]), 0);
  return Number.isFinite(ticks) ? ticks / TICKS_PER_SECOND : undefined;
}

/** The whole machine's CPU time since boot, all cores together, in clock ticks (Linux `/proc/stat`). */
export interface MachineCpuTicks {
  /** Ticks the cores spent idle (idle + iowait). */
  idle: number;
  /** All ticks. */
  total: number;
}

/**
 * Reads the machine's CPU ticks (`undefined` where there is no `/proc/stat`). Two readings a second
 * apart give how many cores sat idle in that second: {@link idleCores}.
 * @example
 * const before = machineCpuTicks(); await sleep(1_000);
 * idleCores(before!, machineCpuTicks()!, availableParallelism()); // 0.7
 */
export function machineCpuTicks(): MachineCpuTicks | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const fields = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  if (fields.length < 5 || fields.some((value) => !Number.isFinite(value))) return undefined;
  return { idle: fields[3]! + fields[4]!, total: fields.reduce((sum, value) => sum + value, 0) };
}

/** How many of `cores` cores were idle between two readings of {@link machineCpuTicks}. */
export function idleCores(before: MachineCpuTicks, after: MachineCpuTicks, cores: number): number {
  const total = after.total - before.total;
  return total <= 0 ? 0 : ((after.idle - before.idle) / total) * cores;
}
