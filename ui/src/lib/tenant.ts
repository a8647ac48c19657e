// The tenant the UI reads as, when the query service runs with tenancy on: chosen by the user,
// remembered in localStorage, and sent in the tenant header on every API request (`getJSON`
// asks `tenantHeaders`). `/api/tenancy` says whether tenancy is on and which header it reads.

export interface TenancyInfo {
  enabled: boolean;
  /** The header the query service reads the tenant from (e.g. `x-scope-orgid`). */
  header: string;
  /** The tenant the request's credentials or headers name, when allowed. */
  tenant: string | null;
}

export const TENANT_STORAGE_KEY = 'skein.tenant';
// Until `/api/tenancy` names the configured header: Jaeger's, which skein accepts whatever its
// `tenancy.header` is, so the first requests of a page already carry the remembered tenant.
const DEFAULT_HEADER = 'x-tenant';

let header = DEFAULT_HEADER;
let tenant: string | null = loadTenant();

/** The tenant names the query service accepts: what `Tenant::parse` allows. */
export function isTenantName(name: string): boolean {
  return /^[a-z0-9][a-z0-9_-]{0,63}$/.test(name);
}

/** Set the tenant (and the header it goes in) that API requests carry; `null` sends none. */
export function setTenant(next: string | null, nextHeader: string = header): void {
  tenant = next && next.trim() ? next.trim() : null;
  header = nextHeader || DEFAULT_HEADER;
}

export function currentTenant(): string | null {
  return tenant;
}

/** The headers every API request carries for the current tenant. */
export function tenantHeaders(): Record<string, string> {
  return tenant ? { [header]: tenant } : {};
}

/** The browser's localStorage; none where it is unavailable (private windows, policies, tests). */
function browserStorage(): Storage | undefined {
  try {
    return typeof window === 'undefined' ? undefined : window.localStorage;
  } catch {
    return undefined;
  }
}

/** The remembered tenant, if any. */
export function loadTenant(storage: Pick<Storage, 'getItem'> | undefined = browserStorage()): string | null {
  try {
    return storage?.getItem(TENANT_STORAGE_KEY) || null;
  } catch {
    return null;
  }
}

export function saveTenant(
  name: string | null,
  storage: Pick<Storage, 'setItem' | 'removeItem'> | undefined = browserStorage(),
): void {
  try {
    if (name) storage?.setItem(TENANT_STORAGE_KEY, name);
    else storage?.removeItem(TENANT_STORAGE_KEY);
  } catch {
    // Not remembered: the choice still holds for this page.
  }
}

/** The tenant to start with: the one the credentials name wins, then the remembered one. */
export function initialTenant(info: TenancyInfo, remembered: string | null): string | null {
  return info.tenant ?? remembered;
}
