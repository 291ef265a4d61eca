// How a customer is doing, from its open incidents and its devices: the traffic light of the SOC
// overview and the 安全/注意/危険 of the portal are the same rule.
import type { Device, Incident } from './api';
import type { Light } from './ui';

export const OPEN_STATUSES = ['open', 'acknowledged', 'in_progress', 'resolved'] as const;

export function isOpen(x: Incident): boolean {
  return x.status !== 'closed';
}

/** red: an open high or critical incident; amber: any other open incident or a silent device;
 * green: nothing open and every device reporting. */
export function lightOf(incidents: Incident[], devices: Device[]): Light {
  const open = incidents.filter(isOpen);
  if (open.some((x) => x.severity === 'high' || x.severity === 'critical')) return 'red';
  if (open.length > 0 || devices.some(isSilent)) return 'amber';
  return 'green';
}

/** lightOf's rule on counts: open high or critical incidents, open incidents, silent devices. */
export function lightOfCounts(openHigh: number, open: number, silent: number): Light {
  if (openHigh > 0) return 'red';
  if (open > 0 || silent > 0) return 'amber';
  return 'green';
}

export function isSilent(d: Device): boolean {
  return d.status === 'active' && d.monitoring_stopped;
}

const SEVERITY_RANK: Record<string, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

export function severityRank(s: string): number {
  return SEVERITY_RANK[s] ?? 0;
}

/** Minutes until the SOC must have acknowledged an incident of this severity (docs/console.md). */
export const SLA_MINUTES: Record<string, number> = { critical: 15, high: 30, medium: 240, low: 1440, info: 1440 };
