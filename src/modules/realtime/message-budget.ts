/**
 * Per-connection message budget: a token bucket (messagesPerSecond, burst). A message over it is refused with
 * an error frame; a connection that keeps sending after being refused (more than refusalsBeforeClose refusals
 * within 10 s) is closed with 1008. Kept in process: a connection lives on exactly one node.
 */

export interface MessagePolicy {
  messagesPerSecond: number;
  messageBurst: number;
  refusalsBeforeClose: number;
}

export type BudgetVerdict = 'ok' | 'refused' | 'abuse';

const REFUSAL_WINDOW_MS = 10_000;

export class MessageBudget {
  private tokens: number;
  private at: number;
  private refusals = 0;
  private refusalWindowStart = 0;

  constructor(
    private readonly policy: MessagePolicy,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = policy.messageBurst;
    this.at = now();
  }

  take(): BudgetVerdict {
    const now = this.now();
    this.tokens = Math.min(this.policy.messageBurst, this.tokens + ((now - this.at) * this.policy.messagesPerSecond) / 1000);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'ok';
    }
    if (now - this.refusalWindowStart > REFUSAL_WINDOW_MS) {
      this.refusalWindowStart = now;
      this.refusals = 0;
    }
    this.refusals += 1;
    return this.refusals > this.policy.refusalsBeforeClose ? 'abuse' : 'refused';
  }

  /** Milliseconds until the next message fits. */
  retryAfterMs(): number {
    return Math.max(0, Math.ceil(((1 - this.tokens) * 1000) / this.policy.messagesPerSecond));
  }
}
