// The empty state of both graphs: no links in the range. Says why (links appear once analytics
// closes a trace), or that nothing was ever sent.
import type { ReactNode } from 'react';
import { EmptyState, SendSpansHint } from '../../components/Status';
import { api } from '../../lib/api';
import { useRequest } from '../../lib/useRequest';

export function NoLinks({ title, children }: { title: string; children: ReactNode }) {
  const services = useRequest((signal) => api.services(signal), []);
  if (services.data && services.data.length === 0) {
    return (
      <EmptyState title="No services yet">
        <SendSpansHint />
      </EmptyState>
    );
  }
  return (
    <EmptyState title={title}>
      <p>{children}</p>
    </EmptyState>
  );
}
