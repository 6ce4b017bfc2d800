import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** A process whose peak memory the benchmark reports, by a readable role name. */
export interface Watched {
  pid: number;
  role: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number | undefined {
  const stat = read(`/proc/${pid}/stat`);
  // pid (comm) state ppid …; comm may contain spaces and parentheses, so cut at the last ')'.
  const rest = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest?.[1] === undefined ? undefined : Number(rest[1]);
}

/** Every live descendant of `root` (not root itself), from /proc. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentOf(Number(entry));
    if (ppid === undefined) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.pop() as number;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

export function commandLine(pid: number): string {
  return (read(`/proc/${pid}/cmdline`) ?? '').split('\0').join(' ').trim();
}

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(read(`/proc/${pid}/status`) ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Resets each process's peak RSS to its current RSS (clear_refs 5), where the kernel lets us. */
export function resetPeaks(procs: readonly Watched[]): void {
  for (const p of procs) {
    try {
      writeFileSync(`/proc/${p.pid}/clear_refs`, '5');
    } catch {
      // Not permitted or gone: the lifetime peak is reported instead.
    }
  }
}

/** Peak RSS (VmHWM) in MB by role; the largest when several processes share a role. */
export function peakRssMb(procs: readonly Watched[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of procs) {
    const kb = statusKb(p.pid, 'VmHWM');
    if (kb === undefined) continue;
    out[p.role] = Math.max(out[p.role] ?? 0, Math.round(kb / 1024));
  }
  return out;
}

/** CPU seconds (user + system) used so far, by role, summed over the role's processes. */
export function cpuSeconds(procs: readonly Watched[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of procs) {
    const stat = read(`/proc/${p.pid}/stat`);
    const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (!fields) continue;
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    const ticks = Number(fields[11]) + Number(fields[12]);
    out[p.role] = (out[p.role] ?? 0) + ticks / 100;
  }
  return out;
}

export const self: Watched = { pid: process.pid, role: 'bench driver' };
