/**
 * Realtime fan-out between nodes: a message published on a topic reaches the handlers every node has
 * subscribed to that topic. A node subscribes only to the topics its own connections need (a player's
 * topic while it has a connection here, a channel's while a connection here has joined it), so the broker
 * sends each node only what it delivers. One in-process implementation (memory: one node) and one shared by
 * every node (redis); both pass the same contract suite (test/fanout/contract.test.ts).
 *
 * Delivery is at most once and in publish order per publisher and topic. What must not be lost is stored
 * first (messages, notifications), and a node that may have missed messages hears `onGap` and refills from
 * the store.
 */

export type FanoutHandler = (message: string) => void;

export interface Fanout {
  readonly kind: 'memory' | 'redis';
  publish(topic: string, message: string): Promise<void>;
  /**
   * Adds a handler. The node subscribes at a topic's first handler and unsubscribes after its last; the
   * promise settles once messages published from then on reach the handler. Returns the unsubscribe.
   */
  subscribe(topic: string, handler: FanoutHandler): Promise<() => Promise<void>>;
  /** The subscriptions came back after the broker was unreachable: messages in between are lost. */
  onGap(listener: () => void): void;
  /** Topics this node is subscribed to (for metrics and tests). */
  readonly topicCount: number;
  close(): Promise<void>;
}
