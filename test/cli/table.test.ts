import { describe, expect, it } from 'vitest';
import { cellText, renderTable } from '../../cli/table';

describe('renderTable', () => {
  const columns = [
    { header: 'ID', value: (r: { id: string; tags: string[] }) => r.id },
    { header: 'TAGS', value: (r: { id: string; tags: string[] }) => r.tags },
  ];

  it('aligns columns under their headers with no trailing blanks', () => {
    const out = renderTable(columns, [
      { id: 'a', tags: ['x', 'y'] },
      { id: 'long-id', tags: [] },
    ]);
    expect(out.split('\n')).toEqual(['ID       TAGS', 'a        x,y', 'long-id']);
  });

  it('prints the header alone for no rows', () => {
    expect(renderTable(columns, [])).toBe('ID  TAGS');
  });
});

describe('cellText', () => {
  it('shows null as empty, objects as JSON and numbers as digits', () => {
    expect(cellText(null)).toBe('');
    expect(cellText(undefined)).toBe('');
    expect(cellText({ a: 1 })).toBe('{"a":1}');
    expect(cellText(42)).toBe('42');
    expect(cellText(false)).toBe('false');
  });

  it('neutralises control characters so a label cannot drive the terminal', () => {
    expect(cellText('evil\u001b[2Jlabel\nnext')).toBe('evil?[2Jlabel?next');
  });
});
