import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError } from './api';
import { initialTenant, isTenantName, loadTenant, saveTenant, TENANT_STORAGE_KEY, setTenant } from './tenant';

function answering(status: number, body: unknown) {
  const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => new Response(JSON.stringify(body), { status }));
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

function sentHeaders(fetchMock: ReturnType<typeof answering>): Record<string, string> {
  return (fetchMock.mock.calls[0][1]?.headers ?? {}) as Record<string, string>;
}

afterEach(() => {
  vi.unstubAllGlobals();
  setTenant(null, 'x-scope-orgid');
});

describe('tenant header', () => {
  it('is sent on every API request once a tenant is chosen, in the header the server reads', async () => {
    const fetchMock = answering(200, { data: ['frontend'] });
    setTenant('acme', 'x-scope-orgid');
    await api.services();
    expect(sentHeaders(fetchMock)['x-scope-orgid']).toBe('acme');
    setTenant('globex', 'x-org');
    await api.trace('abc').catch(() => undefined);
    const second = (fetchMock.mock.calls[1][1]?.headers ?? {}) as Record<string, string>;
    expect(second['x-org']).toBe('globex');
    expect(second['x-scope-orgid']).toBeUndefined();
  });

  it('is not sent without a tenant', async () => {
    const fetchMock = answering(200, { data: [] });
    setTenant('  ');
    await api.services();
    expect(Object.keys(sentHeaders(fetchMock))).toEqual(['Accept']);
  });

  it('shows the server message of a refusal and says to choose a tenant', async () => {
    answering(401, { data: null, errors: [{ code: 401, msg: 'missing tenant header x-scope-orgid' }] });
    const error = (await api.services().catch((e) => e)) as ApiError;
    expect(error.detail).toBe('missing tenant header x-scope-orgid');
    expect(error.hint).toContain('tenant');
    answering(403, { data: null, errors: [{ code: 403, msg: "tenant 'initech' is not allowed here" }] });
    const forbidden = (await api.services().catch((e) => e)) as ApiError;
    expect(forbidden.status).toBe(403);
    expect(forbidden.hint).toContain('tenant');
  });
});

describe('tenant choice', () => {
  it('is remembered, and the credentials tenant wins over the remembered one', () => {
    const store = new Map<string, string>();
    const storage = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
      removeItem: (k: string) => void store.delete(k),
    };
    saveTenant('acme', storage);
    expect(store.get(TENANT_STORAGE_KEY)).toBe('acme');
    expect(loadTenant(storage)).toBe('acme');
    expect(initialTenant({ enabled: true, header: 'x-scope-orgid', tenant: null }, 'acme')).toBe('acme');
    expect(initialTenant({ enabled: true, header: 'x-scope-orgid', tenant: 'globex' }, 'acme')).toBe('globex');
    saveTenant(null, storage);
    expect(loadTenant(storage)).toBeNull();
  });

  it('accepts only names the server could allow', () => {
    expect(isTenantName('team-7')).toBe(true);
    for (const bad of ['', 'Acme', '-x', 'a b', 'a/b']) expect(isTenantName(bad)).toBe(false);
  });
});
