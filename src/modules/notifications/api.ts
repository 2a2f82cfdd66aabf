/**
 * What the notifications module offers the others (the only file of this folder another module may import):
 * ggscale's own notifications (a friend request, a direct message, a match found), stored in the caller's
 * transaction or in one of their own, and delivered live to the player's connections after the commit.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import type { Queryable } from '../../internal/db/database.js';

/** A notification as clients see it: REST items, and the `notification` field of the realtime event. */
export interface Notification {
  /** Opaque. A stored one's is the decimal id the listing pages by; a non-persistent one's is never listed. */
  id: string;
  code: string;
  subject: string;
  content: Record<string, unknown>;
  /** The player whose action caused it, or null when a secret key or ggscale sent it. */
  sender_id: string | null;
  persistent: boolean;
  collapse_key: string | null;
  created_at: string;
}

export interface NewNotification {
  playerId: string;
  /** `[a-z0-9_.-]{1,64}`; ggscale's own start with `ggscale.` (refused to studios over REST). */
  code: string;
  /** 1–256 bytes of UTF-8, in English for ggscale's own. */
  subject: string;
  /** A JSON object of at most 4 KiB (JSON.stringify, UTF-8). */
  content: Record<string, unknown>;
  senderId: string | null;
  /** Default true; false: delivered live only, never stored or listed. */
  persistent?: boolean;
  /** Replaces the player's stored notification with the same code and collapse key. */
  collapseKey?: string | null;
}

export interface SentNotification {
  playerId: string;
  notification: Notification;
}

export interface NotificationsApi {
  /**
   * Stores the persistent ones inside the caller's transaction (`tx`, scoped to the project), then returns
   * the function that delivers them all live; call it after the commit (never if the transaction rolls
   * back). Every player must exist in the project (404 problem naming those that do not). It locks each
   * player's notifications until the commit: call it once per transaction, and commit soon after.
   */
  store(tx: Queryable, scope: ProjectScope, items: readonly NewNotification[]): Promise<() => Promise<void>>;
  /** Stores in a transaction of its own, then delivers live; answers each item's notification, in order. */
  send(scope: ProjectScope, items: readonly NewNotification[]): Promise<SentNotification[]>;
}

/** The prefix of the codes only ggscale itself sends. */
export const GGSCALE_CODE_PREFIX = 'ggscale.';

declare module '../contract.js' {
  interface Provisions {
    notifications: NotificationsApi;
  }
}
