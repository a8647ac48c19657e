// Open a trace straight from its id (what HotROD and log lines print).
import { useId, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';

/** A trace id as Jaeger reads it: 1 to 32 hex digits (64- or 128-bit). */
export function normalizeTraceId(text: string): string | null {
  const id = text.trim().toLowerCase();
  return /^[0-9a-f]{1,32}$/.test(id) ? id : null;
}

export function TraceIdLookup() {
  const navigate = useNavigate();
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const uid = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const id = normalizeTraceId(value);
    if (!id) {
      setError(value.trim() ? 'A trace id is 1 to 32 hex digits (0-9, a-f)' : 'Enter a trace id');
      return;
    }
    navigate(`/trace/${id}`);
  };
  return (
    <form className="panel trace-lookup" onSubmit={submit} aria-label="Open a trace by id" noValidate>
      <label htmlFor={uid}>Trace ID</label>
      <div className="inline-input">
        <input
          id={uid}
          type="text"
          data-testid="trace-id-input"
          placeholder="e.g. 4bf92f3577b34da6a3ce929d0e0e4736"
          value={value}
          spellCheck={false}
          autoComplete="off"
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${uid}-error` : undefined}
          onChange={(e) => {
            setValue(e.target.value);
            setError(null);
          }}
        />
        <button type="submit" data-testid="trace-id-submit">
          Open
        </button>
      </div>
      {error && (
        <div className="field-error" id={`${uid}-error`} role="alert">
          {error}
        </div>
      )}
    </form>
  );
}
