// The shell: navigation and the routes, on Jaeger UI's paths so existing links keep working
// (`/search`, `/trace/{id}`, `/dependencies`, `/monitor`), plus `/compare` and `/pipeline`.
import { lazy, Suspense, useEffect, useState } from 'react';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router';
import { Loading } from './components/Status';
import { TenantPicker } from './components/TenantPicker';
import { currentTenant } from './lib/tenant';
import { ViewBoundary } from './components/ViewBoundary';
import { timeZoneName } from './lib/format';
import { loadNavMemory, NAV_SECTIONS, remember, saveNavMemory, sectionOf, target } from './lib/navMemory';
import { viewName } from './lib/renderError';
import { SearchPage } from './views/search/SearchPage';
// Trace links are where most people arrive (apps print them): no extra round trip before it.
import TracePage from './views/trace/TracePage';

// Views with heavy libraries (graph layout, charts) load on first visit.
const ComparePage = lazy(() => import('./views/compare/ComparePage'));
const DependenciesPage = lazy(() => import('./views/graph/DependenciesPage'));
const MonitorPage = lazy(() => import('./views/monitor/MonitorPage'));
const PipelinePage = lazy(() => import('./views/pipeline/PipelinePage'));

export function App() {
  const location = useLocation();
  // Each link returns to where its view was left (the last search, the graph's range and focus).
  const [memory, setMemory] = useState(loadNavMemory);
  useEffect(() => {
    setMemory((m) => {
      const next = remember(m, location.pathname, location.search);
      if (next !== m) saveNavMemory(next);
      return next;
    });
  }, [location.pathname, location.search]);
  const current = sectionOf(location.pathname);
  // A new tenant loads every view again: its data is another tenant's.
  const [tenant, setTenantKey] = useState(currentTenant);
  return (
    <div className="app">
      <header className="topbar">
        <Link className="brand" to="/search" aria-label="skein home">
          skein
        </Link>
        <nav aria-label="Main">
          {NAV_SECTIONS.map((section) => (
            <Link
              key={section.home}
              to={target(memory, section)}
              className={section === current ? 'active' : undefined}
              aria-current={section === current ? 'page' : undefined}
            >
              {section.label}
            </Link>
          ))}
        </nav>
        <TenantPicker onChange={setTenantKey} />
        <span className="timezone" title="Times are shown in this time zone">
          Times in {timeZoneName()}
        </span>
      </header>
      <main className="content" key={tenant ?? ''}>
        <ViewBoundary resetKey={location.pathname} view={viewName(location.pathname)}>
          <Suspense fallback={<Loading what="view" />}>
            <Routes>
              <Route path="/" element={<Navigate to="/search" replace />} />
              <Route path="/search" element={<SearchPage />} />
              <Route path="/trace/:id" element={<TracePage />} />
              <Route path="/trace/:id/:view" element={<TracePage />} />
              <Route path="/compare" element={<ComparePage />} />
              <Route path="/compare/:a/:b" element={<ComparePage />} />
              <Route path="/dependencies" element={<DependenciesPage />} />
              <Route path="/deep-dependencies" element={<DependenciesPage />} />
              <Route path="/monitor" element={<MonitorPage />} />
              <Route path="/pipeline" element={<PipelinePage />} />
              <Route path="*" element={<NotFound />} />
            </Routes>
          </Suspense>
        </ViewBoundary>
      </main>
    </div>
  );
}

function NotFound() {
  return (
    <div className="empty-state">
      <h3>No such page</h3>
      <p>
        Try <a href="/search">Search</a>, or open a trace at <code>/trace/&lt;trace id&gt;</code>.
      </p>
    </div>
  );
}
