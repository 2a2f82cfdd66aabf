/** Reading usage the way an operator does, and summing what a test's activity should have produced. */
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { operator } from '../support/tenancy.js';

export const HOUR = 3_600_000;

export interface UsageItem {
  start: string;
  meter: string;
  project_id: string | null;
  value: number;
  final: boolean;
}

export interface UsageReport {
  tenant_id: string;
  granularity: string;
  from: string;
  to: string;
  items: UsageItem[];
}

export const iso = (ms: number) => new Date(ms).toISOString();

export function usageUrl(tenantId: string, query: Record<string, string>): string {
  return `/v1/admin/tenants/${tenantId}/usage?${new URLSearchParams(query).toString()}`;
}

export async function readUsage(app: FastifyInstance, tenantId: string, query: Record<string, string>): Promise<UsageReport> {
  const res = await operator(app, 'GET', usageUrl(tenantId, query));
  assert.equal(res.statusCode, 200, res.body);
  return res.json<UsageReport>();
}

/**
 * The hours around now (one before, two after), so activity that straddles an hour is still inside. Counters
 * add up across the hours; the storage gauge and ccu_peak are the highest hourly value.
 */
export async function recentTotals(app: FastifyInstance, tenantId: string, projectId?: string): Promise<Record<string, number>> {
  const hour = Math.floor(Date.now() / HOUR) * HOUR;
  const report = await readUsage(app, tenantId, {
    from: iso(hour - HOUR),
    to: iso(hour + 2 * HOUR),
    granularity: 'hour',
    ...(projectId ? { project_id: projectId } : {}),
  });
  const totals: Record<string, number> = {};
  for (const item of report.items) {
    const highest = item.meter === 'storage_bytes' || item.meter === 'ccu_peak';
    totals[item.meter] = highest ? Math.max(totals[item.meter] ?? 0, item.value) : (totals[item.meter] ?? 0) + item.value;
  }
  return totals;
}
