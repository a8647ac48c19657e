// Find within the trace (`?uiFind=`): Enter goes to the next match, Shift+Enter to the previous,
// Escape clears. The text is local while typing and written to the URL on each change.
import { useEffect, useRef, useState } from 'react';
import { formatCount } from '../../lib/format';

interface Props {
  value: string;
  /** `value` changed by a navigation (back, a link) rather than by typing here. */
  fromUrl: boolean;
  onChange: (text: string) => void;
  matchCount: number | null | undefined;
  onStep: (direction: 1 | -1) => void;
}

export function FindBox({ value, fromUrl, onChange, matchCount, onStep }: Props) {
  const [text, setText] = useState(value);
  const input = useRef<HTMLInputElement>(null);
  const sent = useRef(value);
  // The URL changed from outside (back button, a link), not by our typing: show what it says.
  // Our own writes come back late, maybe a keystroke behind, and must not undo newer typing.
  useEffect(() => {
    if (fromUrl && value !== sent.current) {
      sent.current = value;
      setText(value);
    }
  }, [value, fromUrl]);
  // `/` jumps to the find box from anywhere on the page, as in Jaeger UI and most viewers.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      const typing = target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable);
      if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        input.current?.focus();
        input.current?.select();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  const change = (next: string) => {
    sent.current = next;
    setText(next);
    onChange(next);
  };
  return (
    <div className="find-box" role="search">
      <input
        ref={input}
        type="search"
        data-testid="find-input"
        aria-label="Find in trace"
        placeholder="Find… (operation, service, span id, tag, log)"
        value={text}
        onChange={(e) => change(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            onStep(e.shiftKey ? -1 : 1);
          } else if (e.key === 'Escape') {
            change('');
          }
        }}
        size={34}
      />
      {matchCount !== undefined && (
        <span className="find-count" data-testid="find-count" aria-live="polite">
          {matchCount === null ? '…' : `${formatCount(matchCount)} match${matchCount === 1 ? '' : 'es'}`}
        </span>
      )}
      <button type="button" aria-label="Previous match" title="Previous match (Shift+Enter)" onClick={() => onStep(-1)} disabled={!matchCount}>
        ↑
      </button>
      <button type="button" aria-label="Next match" title="Next match (Enter)" onClick={() => onStep(1)} disabled={!matchCount}>
        ↓
      </button>
    </div>
  );
}
