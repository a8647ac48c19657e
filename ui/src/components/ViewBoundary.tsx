// Catches what a view throws while loading or drawing, so one failed view shows a banner saying
// what to do instead of leaving a blank page; the navigation stays usable. Going to another
// address (`resetKey`) clears the error, without remounting the views when nothing failed.
import { Component, type ErrorInfo, type ReactNode } from 'react';
import { describeRenderError } from '../lib/renderError';

interface Props {
  view: string;
  resetKey: string;
  children: ReactNode;
}

export class ViewBoundary extends Component<Props, { error: unknown }> {
  state: { error: unknown } = { error: null };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  componentDidUpdate(previous: Props) {
    if (previous.resetKey !== this.props.resetKey && this.state.error !== null) this.setState({ error: null });
  }

  componentDidCatch(error: unknown, info: ErrorInfo) {
    console.error('view failed', error, info.componentStack);
  }

  render() {
    if (this.state.error === null) return this.props.children;
    const text = describeRenderError(this.state.error, this.props.view);
    return (
      <div className="error-banner" role="alert" data-testid="view-error" data-chunk={text.chunk}>
        <strong>{text.title}</strong>
        <div className="error-detail">{text.detail}</div>
        <div className="error-hint">{text.hint}</div>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}
