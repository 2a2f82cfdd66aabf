/** What the usage module offers the app (the only file of this folder another module may import). */
import type { AuthContext } from '../../http/auth-context.js';

export interface UsageApi {
  /**
   * An HTTP request was answered (the app's onResponse hook, on every request): counted in memory when a
   * key or a player token authenticated it and the answer is neither 429 nor 5xx.
   */
  requestAnswered(auth: AuthContext | undefined, statusCode: number): void;
}

declare module '../contract.js' {
  interface Provisions {
    usage: UsageApi;
  }
}
