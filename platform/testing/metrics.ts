// Reading Prometheus exposition text in tests: scrape an endpoint over HTTP, then look up one
// series by name and labels, the way a dashboard query would select it.

/** The text of `url` (a /metrics endpoint); throws unless it answers 200. */
export async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
  return exposition(await res.text());
}

export interface Exposition {
  readonly text: string;
  /**
   * The value of the first series `name` whose labels include `labels`, or undefined when no
   * such series is exported (a counter never incremented, an unwatched gauge).
   */
  value(name: string, labels?: Readonly<Record<string, string>>): number | undefined;
  /** The sum over every series `name` whose labels include `labels` (0 when there is none). */
  sum(name: string, labels?: Readonly<Record<string, string>>): number;
}

export function exposition(text: string): Exposition {
  const series = text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const brace = line.indexOf("{");
      const space = line.lastIndexOf(" ");
      const name = brace >= 0 && brace < space ? line.slice(0, brace) : line.slice(0, space);
      const body = brace >= 0 && brace < space ? line.slice(brace + 1, line.lastIndexOf("}")) : "";
      const labels = Object.fromEntries([...body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { name, labels, value: Number(line.slice(space + 1)) };
    });
  const matching = (name: string, labels: Readonly<Record<string, string>>) =>
    series.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return {
    text,
    value: (name, labels = {}) => matching(name, labels)[0]?.value,
    sum: (name, labels = {}) => matching(name, labels).reduce((total, s) => total + s.value, 0),
  };
}
