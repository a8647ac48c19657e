import { describe, expect, it } from 'vitest';
import { NAV_SECTIONS, remember, sectionOf, target } from './navMemory';

const section = (label: string) => NAV_SECTIONS.find((s) => s.label === label)!;

describe('navigation memory', () => {
  it('goes back to the last search after a trace was opened', () => {
    let memory = remember({}, '/search', '?service=frontend&lookback=1h');
    memory = remember(memory, '/trace/abc', '?span=1');
    expect(target(memory, section('Search'))).toBe('/search?service=frontend&lookback=1h');
  });

  it('keeps the service graph and its focus view in one section', () => {
    let memory = remember({}, '/dependencies', '?lookback=2h');
    expect(target(memory, section('Service graph'))).toBe('/dependencies?lookback=2h');
    memory = remember(memory, '/deep-dependencies', '?service=cart&lookback=2h');
    expect(target(memory, section('Service graph'))).toBe('/deep-dependencies?service=cart&lookback=2h');
    expect(sectionOf('/deep-dependencies')?.label).toBe('Service graph');
  });

  it('remembers compared traces and leaves unvisited sections at their start', () => {
    const memory = remember({}, '/compare/a1/b2', '');
    expect(target(memory, section('Compare'))).toBe('/compare/a1/b2');
    expect(target(memory, section('Monitor'))).toBe('/monitor');
  });

  it('does not take a path that only starts like a section', () => {
    expect(sectionOf('/searching')).toBeUndefined();
    expect(remember({}, '/trace/x', '')).toEqual({});
  });

  it('returns the same memory when nothing changed, so no re-render is needed', () => {
    const memory = remember({}, '/monitor', '?service=a');
    expect(remember(memory, '/monitor', '?service=a')).toBe(memory);
  });
});
