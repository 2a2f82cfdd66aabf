/** A stored row as clients see it (REST items and realtime events alike). */
import type { Notification } from './api.js';
import type { NotificationRow } from './notification-store.js';

export function storedView(row: NotificationRow): Notification {
  return {
    id: String(row.id),
    code: row.code,
    subject: row.subject,
    content: row.content,
    sender_id: row.sender_id === null ? null : String(row.sender_id),
    persistent: true,
    collapse_key: row.collapse_key,
    created_at: new Date(row.created_at).toISOString(),
  };
}
