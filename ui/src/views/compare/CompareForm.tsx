// The two trace ids to compare; submitting opens /compare/<a>/<b>.
import { useId, useState, type FormEvent } from 'react';
import { normalizeTraceId } from '../search/TraceIdLookup';

interface Props {
  a: string;
  b: string;
  onCompare: (a: string, b: string) => void;
}

export function CompareForm({ a, b, onCompare }: Props) {
  const [values, setValues] = useState({ a, b });
  const [seen, setSeen] = useState(`${a}/${b}`);
  if (seen !== `${a}/${b}`) {
    setSeen(`${a}/${b}`);
    setValues({ a, b });
  }
  const [errors, setErrors] = useState<{ a?: string; b?: string }>({});
  const uid = useId();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const ids = { a: normalizeTraceId(values.a), b: normalizeTraceId(values.b) };
    const message = (text: string) => (text.trim() ? 'A trace id is 1 to 32 hex digits' : 'Enter a trace id');
    const next = { a: ids.a ? undefined : message(values.a), b: ids.b ? undefined : message(values.b) };
    setErrors(next);
    if (ids.a && ids.b) onCompare(ids.a, ids.b);
  };

  const field = (side: 'a' | 'b', label: string) => (
    <div className="field">
      <label htmlFor={`${uid}-${side}`}>{label}</label>
      <input
        id={`${uid}-${side}`}
        type="text"
        data-testid={`compare-${side}`}
        value={values[side]}
        spellCheck={false}
        autoComplete="off"
        placeholder="trace id"
        aria-invalid={errors[side] ? true : undefined}
        aria-describedby={errors[side] ? `${uid}-${side}-error` : undefined}
        onChange={(e) => setValues((v) => ({ ...v, [side]: e.target.value }))}
      />
      {errors[side] && (
        <div className="field-error" id={`${uid}-${side}-error`} role="alert">
          {errors[side]}
        </div>
      )}
    </div>
  );

  return (
    <form className="panel compare-form" onSubmit={submit} noValidate data-testid="compare-form" aria-label="Traces to compare">
      {field('a', 'Trace A')}
      {field('b', 'Trace B')}
      <button type="submit" className="primary" data-testid="compare-submit">
        Compare
      </button>
      {a && b && (
        <button type="button" onClick={() => onCompare(b, a)} data-testid="compare-swap">
          Swap A and B
        </button>
      )}
    </form>
  );
}
