/**
 * One row-maker per tenant table, used by the catalog-driven RLS suite. The suite lists the tables from
 * the catalog and fails for any table that has no fixture here, so a new table cannot slip past it.
 */
import type { Queryable } from '../../src/internal/db/database.js';

export interface Scope {
  tenantId: string;
  projectId: string;
}

export interface TableFixture {
  /** An INSERT ... RETURNING the key columns, for a row owned by `scope`. */
  insert(scope: Scope, unique: string): { text: string; params: string[] };
  /** Key values of a row the seed already made for `scope`, instead of inserting one. */
  existing?(scope: Scope): string[];
  /** Columns that identify the inserted row. */
  key: string[];
  /** The column that names the project (projects itself uses id). */
  projectColumn?: string;
}

export const fixtures: Record<string, TableFixture> = {
  projects: {
    insert: (scope, unique) => ({
      text: 'insert into projects (tenant_id, name) values ($1, $2) returning id',
      params: [scope.tenantId, `p-${unique}`],
    }),
    key: ['id'],
    projectColumn: 'id',
    // A project row is visible only in its own scope: the seeded project itself is the row under test.
    existing: (scope) => [scope.projectId],
  },
};

/** Creates a tenant with two projects through the operator path. */
export async function seedTenant(tx: Queryable, name: string): Promise<{ tenantId: string; projects: [string, string] }> {
  const [tenant] = await tx.query<{ id: string }>('insert into tenants (name) values ($1) returning id', [name]);
  const projects: string[] = [];
  for (const suffix of ['one', 'two']) {
    const [project] = await tx.query<{ id: string }>('insert into projects (tenant_id, name) values ($1, $2) returning id', [
      tenant!.id,
      `${name}-${suffix}`,
    ]);
    projects.push(project!.id);
  }
  return { tenantId: tenant!.id, projects: projects as [string, string] };
}
