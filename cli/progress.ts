/** `[#########...........]  450/1000  45%`: a fixed-width bar, pure so it can be tested. */
export function renderProgressBar(done: number, total: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const filled = Math.round(ratio * width);
  const count = `${String(done).padStart(String(total).length)}/${total}`;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]  ${count}  ${Math.floor(ratio * 100)}%`;
}

export interface Progress {
  update(done: number, note?: string): void;
  done(): void;
}

/**
 * A progress bar redrawn in place on a terminal's stderr. When stderr is not a terminal (a CI
 * log, a pipe) it draws nothing: carriage returns would only clutter the log.
 */
export function createProgress(total: number, write: (s: string) => void, isTTY: boolean): Progress {
  if (!isTTY) return { update: () => undefined, done: () => undefined };
  let drawn = false;
  return {
    update(done, note) {
      write(`\r\u001b[2K${renderProgressBar(done, total)}${note ? `  ${note}` : ''}`);
      drawn = true;
    },
    done() {
      if (drawn) write('\n');
      drawn = false;
    },
  };
}
