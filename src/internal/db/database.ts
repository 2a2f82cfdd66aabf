/**
 * The database seen by services. Real PostgreSQL (through ggscale's own wire-protocol client by default, or
 * postgres.js with DATABASE_DRIVER) and the embedded PGlite implement it; the SQL, migrations, roles and
 * policies are the same on all of them.
 *
 * Tenant work only goes through withTenant / tenantQuery: they open a transaction, switch to the
 * `ggscale_app` role (never superuser, never BYPASSRLS, not an owner) and set app.tenant_id /
 * app.project_id transaction-locally from bound parameters, so row-level security applies whatever the
 * login role of DATABASE_URL is. Cross-tenant work goes through the separately named `operator` path.
 */

export type SqlParam = string | number | bigint | boolean | null | Date | Uint8Array | Buffer;
export type Row = Record<string, unknown>;

/** Decimal ids as one bigint[] parameter (`$n::bigint[]`): ids are digits only, so nothing needs quoting. */
export const bigintArray = (ids: readonly string[]): string => `{${ids.join(',')}}`;

export interface Queryable {
  /** Runs one statement with $1.. placeholders; values are always bound, never spliced. */
  query<T extends object = Row>(text: string, params?: readonly SqlParam[]): Promise<T[]>;
}

export interface TenantScope {
  tenantId: string;
  /** Project-scoped tables see no rows unless this is set. */
  projectId?: string;
}

export interface PoolStats {
  max: number;
  inUse: number;
  waiting: number;
}

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  /** A transaction as ggscale_app with the tenant (and project) set. */
  withTenant<T>(scope: TenantScope, fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** The common single-statement case of withTenant, in one round trip where the driver allows. */
  tenantQuery<T extends object = Row>(scope: TenantScope, text: string, params?: readonly SqlParam[]): Promise<T[]>;
  /**
   * Cross-tenant work (operator API, schedulers, migrations' bookkeeping): a transaction as the login /
   * owner role, which bypasses RLS. `action` names the caller for the log; use it sparingly.
   */
  operator<T>(action: string, fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** A trivial round trip, for readiness. */
  ping(): Promise<void>;
  poolStats(): PoolStats;
  close(): Promise<void>;
}

/** The statement that opens every tenant transaction (after BEGIN). */
export const SET_TENANT_SCOPE_SQL =
  "select set_config('role', 'ggscale_app', true), " +
  "set_config('app.tenant_id', $1, true), set_config('app.project_id', $2, true)";

export function scopeParams(scope: TenantScope): [string, string] {
  if (!/^\d{1,19}$/.test(scope.tenantId)) throw new Error('withTenant: tenantId must be a decimal id');
  if (scope.projectId !== undefined && !/^\d{1,19}$/.test(scope.projectId)) {
    throw new Error('withTenant: projectId must be a decimal id');
  }
  return [scope.tenantId, scope.projectId ?? ''];
}
