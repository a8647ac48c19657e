// The main navigation returns to where each view was left: "Search" after opening a trace goes
// back to that search, "Service graph" to its range and focus, as Jaeger UI's Search tab does.
// Pure mapping from paths to sections; the remembered addresses live in sessionStorage (per tab).

export interface NavSection {
  /** Where the link goes when nothing is remembered. */
  home: string;
  label: string;
  /** The paths that belong to this section (their address is remembered for it). */
  matches: (pathname: string) => boolean;
}

const under = (...prefixes: string[]) => (pathname: string) =>
  prefixes.some((p) => pathname === p || pathname.startsWith(`${p}/`));

export const NAV_SECTIONS: readonly NavSection[] = [
  { home: '/search', label: 'Search', matches: under('/search') },
  { home: '/dependencies', label: 'Service graph', matches: under('/dependencies', '/deep-dependencies') },
  { home: '/monitor', label: 'Monitor', matches: under('/monitor') },
  { home: '/compare', label: 'Compare', matches: under('/compare') },
  { home: '/pipeline', label: 'Pipeline', matches: under('/pipeline') },
];

export function sectionOf(pathname: string): NavSection | undefined {
  return NAV_SECTIONS.find((s) => s.matches(pathname));
}

export type NavMemory = Record<string, string>;

/** The memory after visiting `pathname + search`: the section's last address is replaced. */
export function remember(memory: NavMemory, pathname: string, search: string): NavMemory {
  const section = sectionOf(pathname);
  if (!section) return memory;
  const address = `${pathname}${search}`;
  return memory[section.home] === address ? memory : { ...memory, [section.home]: address };
}

/** Where a section's link goes: its last address, else its home. */
export function target(memory: NavMemory, section: NavSection): string {
  return memory[section.home] ?? section.home;
}

const KEY = 'skein.nav';

export function loadNavMemory(): NavMemory {
  try {
    const data: unknown = JSON.parse(sessionStorage.getItem(KEY) ?? '{}');
    if (!data || typeof data !== 'object') return {};
    // Only same-origin paths of known sections are followed.
    return Object.fromEntries(
      Object.entries(data as Record<string, unknown>).filter(
        (e): e is [string, string] => typeof e[1] === 'string' && e[1].startsWith('/') && !e[1].startsWith('//') && sectionOf(e[1].split('?')[0])?.home === e[0],
      ),
    );
  } catch {
    return {};
  }
}

export function saveNavMemory(memory: NavMemory): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(memory));
  } catch {
    // Storage may be refused (private windows): the links then go to each view's start.
  }
}
