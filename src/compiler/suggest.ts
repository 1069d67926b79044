/** "Did you mean" for names: the candidates closest to a misspelt name by edit distance. */

export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  const cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    for (let j = 0; j <= b.length; j++) prev[j] = cur[j]!;
  }
  return prev[b.length]!;
}

/** Up to `limit` candidates within a distance that scales with the name's length, nearest first. */
export function closest(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const budget = Math.max(2, Math.floor(name.length / 3));
  const scored: Array<[string, number]> = [];
  for (const candidate of candidates) {
    if (Math.abs(candidate.length - name.length) > budget) continue;
    const d = editDistance(name, candidate);
    if (d <= budget) scored.push([candidate, d]);
  }
  scored.sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]));
  return scored.slice(0, limit).map(([c]) => c);
}

/** " Did you mean 'a' or 'b'?" or "" */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const near = closest(name, candidates);
  if (near.length === 0) return "";
  const quoted = near.map((n) => `'${n}'`);
  return ` Did you mean ${quoted.length === 1 ? quoted[0] : quoted.slice(0, -1).join(", ") + " or " + quoted.at(-1)}?`;
}
