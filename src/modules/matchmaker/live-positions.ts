/** The first position at or after a given one not yet removed from an ordered list (its length when none). */
export class LivePositions {
  private readonly next: Int32Array;

  constructor(length: number) {
    this.next = new Int32Array(length + 1);
    for (let i = 0; i <= length; i++) this.next[i] = i;
  }

  first(position: number): number {
    const next = this.next;
    let at = position;
    for (let step = next[at]!; step !== at; step = next[at]!) {
      // Path halving: every removed position passed on the way points two further on, so long runs of placed
      // tickets are crossed in a few steps the next time.
      next[at] = next[step]!;
      at = step;
    }
    return at;
  }

  remove(position: number): void {
    this.next[position] = position + 1;
  }
}
