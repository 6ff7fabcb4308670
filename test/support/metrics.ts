/**
 * The value of a metric in Prometheus text: the sum of its samples whose labels include `labels`,
 * or undefined when no sample matches (so a test can tell "absent" from 0).
 */
export function metricSample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`)))
      sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The value of a metric on an app's /metrics right now (0 when absent). */
export async function metricOf(
  app: { url: string },
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return metricSample(await (await fetch(`${app.url}/metrics`)).text(), name, labels) ?? 0;
}
