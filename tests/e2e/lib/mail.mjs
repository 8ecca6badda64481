// Reads the mail that the SMTP sink of the stack received.
import { setTimeout as sleep } from 'node:timers/promises';

export class MailSink {
  constructor(apiUrl) {
    this.apiUrl = apiUrl;
  }

  async messages() {
    const res = await fetch(this.apiUrl, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`mail sink answered ${res.status}`);
    return (await res.json()).messages;
  }

  async messagesTo(address) {
    return (await this.messages()).filter((m) => m.to.toLowerCase().includes(address.toLowerCase()));
  }

  /** Waits (bounded) until more than `seen` messages to `address` arrived; returns the newest. */
  async waitForMessage(address, seen, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const mine = await this.messagesTo(address);
      if (mine.length > seen) return mine[mine.length - 1];
      if (Date.now() > deadline) {
        throw new Error(`no new mail to ${address} within ${timeoutMs} ms (still ${mine.length})`);
      }
      await sleep(250);
    }
  }
}

/** The one-time code in a message's text part: the only run of `length` digits standing alone. */
export function codeFrom(message, length = 6) {
  const re = new RegExp(`(?<![0-9])[0-9]{${length}}(?![0-9])`, 'g');
  const found = [...new Set(message.text.match(re) ?? [])];
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${length}-digit code in the mail text, found ${JSON.stringify(found)}:\n${message.text}`);
  }
  return found[0];
}
