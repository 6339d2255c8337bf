// CPU time of other processes and of the whole machine, from /proc (Linux), so a benchmark can
// say where its time went (per process, per operation) and how busy the machine was meanwhile.
import { readFileSync } from "node:fs";

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** User + system CPU ms a process has used so far; 0 when it is gone (or not on Linux). */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

export interface MachineCpu {
  readonly busyMs: number;
  readonly totalMs: number;
}

/** CPU ms of all cores, busy and in total, since boot. */
export function machineCpu(): MachineCpu {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    return { busyMs: busy * TICK_MS, totalMs: (busy + idle + iowait) * TICK_MS };
  } catch {
    return { busyMs: 0, totalMs: 0 };
  }
}
