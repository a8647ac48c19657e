// The tenant field of the top bar, shown only when the query service runs with tenancy on.
// Submitting a name makes every following API request carry it (and remembers it); the views
// are then loaded again for that tenant.
import { useEffect, useState } from 'react';
import { skeinApi } from '../lib/api';
import {
  currentTenant,
  initialTenant,
  isTenantName,
  loadTenant,
  saveTenant,
  setTenant,
  type TenancyInfo,
} from '../lib/tenant';

export function TenantPicker({ onChange }: { onChange: (tenant: string | null) => void }) {
  const [info, setInfo] = useState<TenancyInfo | null>(null);
  const [draft, setDraft] = useState(currentTenant() ?? '');
  useEffect(() => {
    const controller = new AbortController();
    skeinApi.tenancy(controller.signal).then(
      (answer) => {
        setInfo(answer);
        if (!answer.enabled) return;
        const tenant = initialTenant(answer, loadTenant());
        const changed = tenant !== currentTenant();
        setTenant(tenant, answer.header);
        setDraft(tenant ?? '');
        if (changed) onChange(tenant);
      },
      // An older query service without /api/tenancy: no tenancy to choose.
      () => setInfo(null),
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  if (!info?.enabled) return null;
  const name = draft.trim();
  const valid = name === '' || isTenantName(name);
  return (
    <form
      className="tenant-picker"
      onSubmit={(event) => {
        event.preventDefault();
        if (!valid) return;
        const tenant = name || null;
        setTenant(tenant, info.header);
        saveTenant(tenant);
        onChange(tenant);
      }}
    >
      <label>
        Tenant{' '}
        <input
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
          placeholder="tenant name"
          aria-invalid={!valid}
          title={valid ? `Sent as ${info.header}` : 'a-z, 0-9, _ and -, starting with a letter or digit'}
          size={14}
        />
      </label>{' '}
      <button type="submit">Use</button>
    </form>
  );
}
