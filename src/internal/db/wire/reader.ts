/**
 * Backend messages out of a byte stream: each is a type byte and an Int32 length (that counts itself), and may
 * arrive split across any number of socket reads, down to one byte each, or many in one read.
 */
import { protocolError } from './server-error.js';

/** Called for each complete message: the type byte, and where its body lies in `data`. */
export type MessageHandler = (type: number, data: Buffer, start: number, end: number) => void;

export class MessageReader {
  // A partial message waits in chunks until it is complete.
  private chunks: Buffer[] = [];
  private buffered = 0;
  private needed = 5;

  /**
   * Hands each complete message in `chunk` (with what came before it) to `handle`, until `stop()` says to stop
   * (the connection closed meanwhile). Throws a protocol error on a length that cannot be.
   */
  push(chunk: Buffer, handle: MessageHandler, stop: () => boolean): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.needed) return;
    const data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    let at = 0;
    while (data.length - at >= 5) {
      const length = data.readInt32BE(at + 1);
      if (length < 4) throw protocolError(`a message of length ${length}`);
      if (data.length - at < length + 1) {
        this.needed = length + 1;
        break;
      }
      handle(data[at]!, data, at + 5, at + 1 + length);
      at += length + 1;
      if (stop()) return;
    }
    const rest = data.length - at;
    this.chunks = rest > 0 ? [data.subarray(at)] : [];
    this.buffered = rest;
    if (rest < 5) this.needed = 5;
  }
}
