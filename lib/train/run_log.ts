/**
 * The per-iteration JSONL log of a training run: one JSON object per line, appended and flushed as
 * the run goes. On resume the log is cut back to the checkpoint's iteration, a torn last line (a run
 * killed mid-write) included, so that a resumed run's log reads as if the run had never stopped.
 */
import * as fs from 'fs';

/** One record per iteration (plus `kind: 'epoch'` summaries); the notebooks read these. */
export interface IterationRecord {
  readonly kind: 'iteration';
  /** Global iteration, 1-based, counting statistics-epoch batches too. */
  readonly iteration: number;
  readonly epoch: number;
  readonly phase: string;
  readonly loss: number;
  readonly l1: number;
  readonly at: number;
  readonly reg: number;
  readonly learningRates: Readonly<Record<string, number>>;
  /** Per quantizer: [u, l] after the step. */
  readonly bounds: Readonly<Record<string, readonly [number, number]>>;
  /** Per quantizer: [dL/du, dL/dl] of this step. */
  readonly boundGrads: Readonly<Record<string, readonly [number, number]>>;
  /** Per dynamic layer: mean and spread of beta_u, beta_l over the batch. */
  readonly gates: Readonly<Record<string, { betaUpperMean: number; betaLowerMean: number; betaUpperStd: number; betaLowerStd: number }>>;
}

export interface EpochRecord {
  readonly kind: 'epoch';
  readonly epoch: number;
  readonly iteration: number;
  readonly phase: string;
  readonly seconds: number;
  readonly validation: { readonly set: string; readonly psnr: number | null } | null;
  readonly dynamic?: readonly string[];
}

export type LogRecord = IterationRecord | EpochRecord;

export class RunLog {
  private fd: number;
  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'a');
  }

  append(record: LogRecord): void {
    fs.writeSync(this.fd, `${JSON.stringify(record)}\n`);
  }

  /** Forces the appended lines to disk (at checkpoints, so the log never lags the checkpoint). */
  sync(): void {
    fs.fsyncSync(this.fd);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Reads a log; a torn last line is ignored. */
export function readRunLog(file: string): LogRecord[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: LogRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as LogRecord);
    } catch {
      break; // a torn line can only be the last one
    }
  }
  return out;
}

/**
 * Cuts `file` back to the records whose iteration is at most `iteration` (and epoch records of
 * finished epochs up to it), dropping a torn last line; written atomically. Returns the kept count.
 */
export function truncateRunLog(file: string, iteration: number): number {
  if (!fs.existsSync(file)) return 0;
  const kept = readRunLog(file).filter((r) => r.iteration <= iteration);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  const fd = fs.openSync(tmp, 'r+');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  return kept.length;
}
