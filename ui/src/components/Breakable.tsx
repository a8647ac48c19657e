// Long names (URL paths, dotted identifiers) wrap at their separators rather than mid-word:
// `/api/v1/cart/{userId}/items` breaks after a slash, not as `item` + `s`.
import { Fragment } from 'react';
import { breakPieces } from '../lib/format';

export function Breakable({ text }: { text: string }) {
  const pieces = breakPieces(text);
  return (
    <>
      {pieces.map((piece, i) => (
        <Fragment key={i}>
          {piece}
          {i < pieces.length - 1 && <wbr />}
        </Fragment>
      ))}
    </>
  );
}
