// The shell: navigation and the routes, on Jaeger UI's paths so existing links keep working
// (`/search`, `/trace/{id}`, `/dependencies`, `/monitor`), plus `/compare` and `/pipeline`.
import { lazy, Suspense } from 'react';
import { Navigate, NavLink, Route, Routes } from 'react-router';
import { Loading } from './components/Status';
import { timeZoneName } from './lib/format';
import { SearchPage } from './views/search/SearchPage';
// Trace links are where most people arrive (apps print them): no extra round trip before it.
import TracePage from './views/trace/TracePage';

// Views with heavy libraries (graph layout, charts) load on first visit.
const ComparePage = lazy(() => import('./views/compare/ComparePage'));
const DependenciesPage = lazy(() => import('./views/graph/DependenciesPage'));
const MonitorPage = lazy(() => import('./views/monitor/MonitorPage'));
const PipelinePage = lazy(() => import('./views/pipeline/PipelinePage'));

const NAV: [string, string][] = [
  ['/search', 'Search'],
  ['/dependencies', 'Service graph'],
  ['/monitor', 'Monitor'],
  ['/compare', 'Compare'],
  ['/pipeline', 'Pipeline'],
];

export function App() {
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="/search" aria-label="skein home">
          skein
        </a>
        <nav aria-label="Main">
          {NAV.map(([to, label]) => (
            <NavLink key={to} to={to} className={({ isActive }) => (isActive ? 'active' : undefined)}>
              {label}
            </NavLink>
          ))}
        </nav>
        <span className="timezone" title="Times are shown in this time zone">
          Times in {timeZoneName()}
        </span>
      </header>
      <main className="content">
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
