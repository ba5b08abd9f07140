// Where the server's time went during a row: self time per package and per function in a V8
// .cpuprofile (written by `node --cpu-prof`), counting only the samples taken in the row's
// measured window (profiles are stamped with the monotonic clock process.hrtime reads).
import fs from 'node:fs';

function packageOf(url) {
  if (url.startsWith('node:')) return 'node core';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const own = /\/(dist\/.*\/)[^/]+$/.exec(url);
  return own ? own[1] : url;
}

export const readProfile = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));

/** Text lines: the `top` packages and functions by self time in [from, to] (µs), or [] without samples there. */
export function summariseProfile(profile, [from, to], top = 12) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const functions = new Map();
  const packages = new Map();
  const add = (map, key, micros) => map.set(key, (map.get(key) ?? 0) + micros);
  let at = profile.startTime;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i] ?? 0;
    at += micros;
    if (at < from || at > to) return;
    total += micros;
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    // (idle), (garbage collector), (program), and native code such as the socket's writev.
    add(packages, url ? packageOf(url) : functionName.startsWith('(') ? functionName : '(native)', micros);
    add(functions, `${functionName || '(anonymous)'}${url ? ` ${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : ''}`, micros);
  });
  if (!total) return [];
  const pct = (micros) => `${((micros / total) * 100).toFixed(1).padStart(5)} %`;
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    '  self time by package:',
    ...sorted(packages).map(([name, micros]) => `    ${pct(micros)}  ${name}`),
    '  self time by function:',
    ...sorted(functions).map(([name, micros]) => `    ${pct(micros)}  ${name}`),
  ];
}
