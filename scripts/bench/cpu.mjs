// CPU time during a row, in % of one core, from /proc (Linux; null elsewhere): the server
// process, this process (the load generator) and everything else on the machine, which on a
// shared machine tells how far the figures can be trusted.
import fs from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function processTicks(pid) {
  // Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function machineBusyTicks() {
  const [user, nice, system, , , irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8')
    .split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return user + nice + system + irq + softirq + steal;
}

/** Call at the start; the returned function, at the end, gives {server, loadGenerator, other} in %. */
export function cpuMeter(serverPid) {
  let start;
  try {
    start = { at: process.hrtime.bigint(), server: processTicks(serverPid), self: processTicks(process.pid), machine: machineBusyTicks() };
  } catch {
    return () => null;
  }
  return () => {
    const seconds = Number(process.hrtime.bigint() - start.at) / 1e9;
    const pct = (ticks) => Math.round((ticks / TICKS_PER_SECOND / seconds) * 100);
    try {
      const server = processTicks(serverPid) - start.server;
      const self = processTicks(process.pid) - start.self;
      const machine = machineBusyTicks() - start.machine;
      return { server: pct(server), loadGenerator: pct(self), other: Math.max(0, pct(machine - server - self)) };
    } catch {
      return null; // the server is gone
    }
  };
}
