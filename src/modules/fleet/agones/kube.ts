/**
 * @kubernetes/client-node, loaded only when the Agones backend starts (it takes ~350 ms to import and
 * most deployments run the local backend). Pinned to 1.x in package.json: 2.x needs Node >= 22.19.
 */
import { delimiter } from 'node:path';
import type { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { AgonesFleetConfig } from '../config.js';

export type K8sModule = typeof import('@kubernetes/client-node');

export interface KubeClients {
  k8s: K8sModule;
  kc: KubeConfig;
  api: CustomObjectsApi;
}

export async function connectKube(config: AgonesFleetConfig): Promise<KubeClients> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  if (config.kubeconfig && !config.kubeconfig.includes(delimiter)) kc.loadFromFile(config.kubeconfig);
  // A list of files (merged), the in-cluster service account, or ~/.kube/config.
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error('the kubeconfig names no current cluster');
  return { k8s, kc, api: kc.makeApiClient(k8s.CustomObjectsApi) };
}

/** The status code of a failed client call (ApiException.code, or a watch error's statusCode). */
export function statusCodeOf(error: unknown): number | undefined {
  const value = error as { code?: unknown; statusCode?: unknown } | null;
  if (typeof value?.code === 'number') return value.code;
  if (typeof value?.statusCode === 'number') return value.statusCode;
  return undefined;
}

/** The apiserver's Status message from an ApiException (whose body is the raw response text in 1.x). */
export function statusMessageOf(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message.slice(0, 500);
    } catch {
      return body.slice(0, 200);
    }
  }
  return error instanceof Error ? error.message.slice(0, 200) : String(error).slice(0, 200);
}
