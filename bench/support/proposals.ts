/**
 * Bench-only copies of server code with one change each, to show what a proposed change would buy. They
 * are measured beside the real code and labelled as proposals; the server itself is not changed here.
 */
import type { Sql } from 'postgres';
import { SET_TENANT_SCOPE_SQL, scopeParams, type SqlParam, type TenantScope } from '../../src/internal/db/database.js';

type Params = Parameters<Sql['unsafe']>[1];

/**
 * PostgresDatabase.tenantQuery with named prepared statements (postgres.js `prepare: true`): BEGIN, the
 * scope statement, the query and COMMIT are parsed and planned once per connection instead of on every call.
 */
export function preparedTenantQuery(sql: Sql) {
  return async <T>(scope: TenantScope, text: string, params: readonly SqlParam[]): Promise<T[]> => {
    const scopeValues = scopeParams(scope);
    const conn = await sql.reserve();
    try {
      const prepared = { prepare: true };
      const begin = conn.unsafe('begin', [], prepared).execute();
      const setScope = conn.unsafe(SET_TENANT_SCOPE_SQL, scopeValues, prepared).execute();
      const statement = conn.unsafe(text, params as Params, prepared).execute();
      const commit = conn.unsafe('commit', [], prepared).execute();
      const settled = await Promise.allSettled([begin, setScope, statement, commit]);
      for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
      return Array.from((settled[2] as PromiseFulfilledResult<unknown>).value as ArrayLike<T>);
    } catch (error) {
      await conn.unsafe('rollback').catch(() => undefined);
      throw error;
    } finally {
      conn.release();
    }
  };
}
