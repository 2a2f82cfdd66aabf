/** Sets up tenants, projects, keys and players over HTTP against a running server, as a studio would. */
export const BENCH_ADMIN_TOKEN = 'bench-operator-token-0123456789abcdef';

export interface BenchProject {
  tenantId: string;
  projectId: string;
  publishableKey: string;
  secretKey: string;
}

export async function call<T>(baseUrl: string, method: string, path: string, credential: string, body?: unknown): Promise<T> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${credential}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function createProject(baseUrl: string, name: string, adminToken = BENCH_ADMIN_TOKEN): Promise<BenchProject> {
  const tenant = await call<{ id: string }>(baseUrl, 'POST', '/v1/admin/tenants', adminToken, { name });
  const project = await call<{ id: string }>(baseUrl, 'POST', `/v1/admin/tenants/${tenant.id}/projects`, adminToken, { name: 'bench' });
  const key = (kind: string) => call<{ key: string }>(baseUrl, 'POST', `/v1/admin/projects/${project.id}/api-keys`, adminToken, { kind, name: kind });
  return { tenantId: tenant.id, projectId: project.id, publishableKey: (await key('publishable')).key, secretKey: (await key('secret')).key };
}

export interface SignedIn {
  player: { id: string };
  access_token: string;
}

export function signup(baseUrl: string, project: BenchProject, email: string, password: string): Promise<SignedIn> {
  return call<SignedIn>(baseUrl, 'POST', '/v1/auth/signup', project.publishableKey, { email, password });
}

export function deviceSignIn(baseUrl: string, project: BenchProject, deviceId: string): Promise<SignedIn> {
  return call<SignedIn>(baseUrl, 'POST', '/v1/auth/device', project.publishableKey, { device_id: deviceId });
}
