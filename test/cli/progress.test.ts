import { describe, expect, it } from 'vitest';
import { createProgress, renderProgressBar } from '../../cli/progress';

describe('renderProgressBar', () => {
  it('fills in proportion and shows the count and percentage', () => {
    expect(renderProgressBar(0, 2500, 10)).toBe('[..........]     0/2500  0%');
    expect(renderProgressBar(1000, 2500, 10)).toBe('[####......]  1000/2500  40%');
    expect(renderProgressBar(2500, 2500, 10)).toBe('[##########]  2500/2500  100%');
  });

  it('never overflows the bar', () => {
    expect(renderProgressBar(5, 3, 4)).toBe('[####]  5/3  100%');
    expect(renderProgressBar(0, 0, 4)).toBe('[####]  0/0  100%');
  });
});

describe('createProgress', () => {
  it('redraws in place on a terminal and ends the line when done', () => {
    const written: string[] = [];
    const progress = createProgress(10, (s) => written.push(s), true);
    progress.update(5, '1 failed');
    progress.done();
    const [first = ''] = written;
    // Carriage return + "erase line" (ESC [2K), then the bar.
    expect(first.startsWith('\r\u001b[2K')).toBe(true);
    expect(first.slice(5)).toMatch(/^\[#+\.+\] +5\/10 {2}50% {2}1 failed$/);
    expect(written[1]).toBe('\n');
  });

  it('draws nothing when stderr is not a terminal', () => {
    const written: string[] = [];
    const progress = createProgress(10, (s) => written.push(s), false);
    progress.update(5);
    progress.done();
    expect(written).toEqual([]);
  });
});
