/**
 * `ggscale bootstrap --tenant NAME --project NAME`: creates (or reuses) the tenant and project and a fresh
 * pair of keys, and prints {"tenant_id","project_id","publishable_key","secret_key"}.
 */
import type { Config } from '../app/config.js';
import { createLogger } from '../internal/telemetry/logger.js';
import { withOperatorAccess, type OperatorAccess } from './operator-session.js';

interface Created {
  id: string;
}

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  if (index >= 0) return args[index + 1];
  return args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function viaHttp(access: Extract<OperatorAccess, { via: 'http' }>, tenant: string, project: string) {
  let tenants: { items: { id: string; name: string }[]; next_cursor: string | null } = { items: [], next_cursor: null };
  let found: { id: string } | undefined;
  let cursor: string | null = null;
  do {
    tenants = (await access.call('GET', `/v1/admin/tenants?limit=100${cursor ? `&cursor=${cursor}` : ''}`)) as typeof tenants;
    found = tenants.items.find((t) => t.name === tenant);
    cursor = tenants.next_cursor;
  } while (!found && cursor);
  const tenantId = found?.id ?? ((await access.call('POST', '/v1/admin/tenants', { name: tenant })) as Created).id;
  const projects = (await access.call('GET', `/v1/admin/tenants/${tenantId}/projects`)) as { items: { id: string; name: string }[] };
  const projectId =
    projects.items.find((p) => p.name === project)?.id ??
    ((await access.call('POST', `/v1/admin/tenants/${tenantId}/projects`, { name: project })) as Created).id;
  const key = async (kind: string) =>
    ((await access.call('POST', `/v1/admin/projects/${projectId}/api-keys`, { kind, name: `bootstrap ${kind}` })) as { key: string }).key;
  return { tenant_id: tenantId, project_id: projectId, publishable_key: await key('publishable'), secret_key: await key('secret') };
}

async function viaDatabase(access: Extract<OperatorAccess, { via: 'database' }>, tenant: string, project: string) {
  const { generateApiKey } = await import('../modules/tenancy/api-key-format.js');
  return access.db.operator('cli.bootstrap', async (tx) => {
    const [t] = await tx.query<{ id: string }>(
      `with found as (select id from tenants where name = $1),
            made as (insert into tenants (name) select $1 where not exists (select 1 from found) returning id)
       select id from found union all select id from made`,
      [tenant],
    );
    const [p] = await tx.query<{ id: string }>(
      `with found as (select id from projects where tenant_id = $1 and name = $2),
            made as (insert into projects (tenant_id, name) select $1, $2 where not exists (select 1 from found) returning id)
       select id from found union all select id from made`,
      [t!.id, project],
    );
    const keys: Record<string, string> = {};
    for (const kind of ['publishable', 'secret'] as const) {
      const { key, hash, prefix } = generateApiKey(kind);
      await tx.query('insert into api_keys (tenant_id, project_id, kind, name, key_hash, prefix) values ($1, $2, $3, $4, $5, $6)', [
        t!.id,
        p!.id,
        kind,
        `bootstrap ${kind}`,
        hash,
        prefix,
      ]);
      keys[kind] = key;
    }
    return { tenant_id: String(t!.id), project_id: String(p!.id), publishable_key: keys.publishable!, secret_key: keys.secret! };
  });
}

export async function runBootstrapCommand(config: Config, args: string[]): Promise<number> {
  const tenant = option(args, 'tenant');
  const project = option(args, 'project');
  const name = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/;
  if (!tenant || !project || !name.test(tenant) || !name.test(project)) {
    process.stderr.write('usage: ggscale bootstrap --tenant NAME --project NAME (names: letters, digits, space . _ -; at most 100)\n');
    return 2;
  }
  const result = await withOperatorAccess(config, (access) =>
    access.via === 'http' ? viaHttp(access, tenant, project) : viaDatabase(access, tenant, project),
  );
  // Operator action, logged on stderr so stdout stays the JSON answer; never the keys.
  createLogger({ level: config.logLevel, destination: process.stderr }).info(
    { audit: true, actor: 'cli', action: 'bootstrap', target: `project:${result.project_id}` },
    'operator action',
  );
  process.stdout.write(JSON.stringify(result) + '\n');
  return 0;
}
