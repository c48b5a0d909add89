/**
 * Progress lines on stderr: rewritten in place on a TTY, throttled plain lines otherwise
 * (about one every `intervalMs`), so logs of headless runs stay short.
 */
export class Progress {
  private last = 0;
  private readonly tty = process.stderr.isTTY === true;
  constructor(private readonly intervalMs = 10000, private readonly quiet = false) {}

  update(line: string, force = false): void {
    if (this.quiet) return;
    const now = Date.now();
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${line}`);
      return;
    }
    if (force || now - this.last >= this.intervalMs) {
      this.last = now;
      process.stderr.write(`${line}\n`);
    }
  }

  done(line?: string): void {
    if (this.quiet) return;
    if (this.tty) process.stderr.write('\r\x1b[K');
    if (line) process.stderr.write(`${line}\n`);
  }
}
